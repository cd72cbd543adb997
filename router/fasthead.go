package router

import (
	"bufio"
	"bytes"
)

// fastHead is a request head the fast path can forward: HTTP/1.1, a
// common method, an origin-form target, one Host, at most one plain
// Content-Length, nothing that changes the framing or the connection.
// Its slices point into the connection's read buffer and are valid until
// the head is discarded from it. It is reused from request to request.
type fastHead struct {
	size          int // bytes of the head, blank line included
	method        []byte
	target        []byte
	host          []byte   // the Host value as sent
	contentLength int64    // -1 without a Content-Length
	close         bool     // Connection: close
	keep          [][]byte // header lines passed on as they are, without CRLF
	xff           [][]byte // X-Forwarded-For values
	xfProto       []byte
	xfPort        []byte
	xfHost        []byte
	requestID     []byte
}

// headVerdict says what to do with a connection after reading a head.
type headVerdict int

const (
	headFast    headVerdict = iota // forward on the fast path
	headGeneral                    // hand the connection to the general path
	headClosed                     // the client went away or timed out
	headMore                       // the rest is yet to come (inside a readiness wait)
)

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
	http11   = []byte("HTTP/1.1")
	acmePath = []byte("/.well-known/acme-challenge/")
)

// readHead waits for a whole request head in br and parses it into h.
// Anything unusual goes to the general path, which knows every corner of
// HTTP; the fast path only takes what it can forward exactly.
func readHead(br *bufio.Reader, h *fastHead) headVerdict {
	var head []byte
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf, crlfcrlf); i >= 0 {
			head = buf[:i+4]
			break
		}
		if bareLF(buf) || len(buf) >= br.Size() {
			return headGeneral
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			if len(buf) > 0 && err == bufio.ErrBufferFull {
				return headGeneral
			}
			if err == errWouldBlock {
				return headMore
			}
			return headClosed
		}
	}
	if bareLF(head) || !parseHead(head, h) {
		return headGeneral
	}
	h.size = len(head)
	return headFast
}

// bareLF reports whether b has a LF not preceded by CR.
func bareLF(b []byte) bool {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}

// parseHead parses a head that ends in CRLF CRLF and has no bare LF. It
// returns false for anything the fast path does not take.
func parseHead(head []byte, h *fastHead) bool {
	*h = fastHead{keep: h.keep[:0], xff: h.xff[:0], contentLength: -1}
	end := bytes.Index(head, crlf)
	line := head[:end]
	rest := head[end+2:]

	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 || !bytes.Equal(line[sp2+1:], http11) {
		return false
	}
	h.method, h.target = line[:sp1], line[sp1+1:sp2]
	if !fastMethod(h.method) || h.target[0] != '/' || bytes.HasPrefix(h.target, acmePath) {
		return false
	}
	if !originForm(h.target) {
		return false
	}

	for len(rest) > 2 {
		end := bytes.Index(rest, crlf)
		line, rest = rest[:end], rest[end+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !token(line[:colon]) {
			return false // also a folded line, which starts with a space
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !fieldValue(value) {
			return false
		}
		switch {
		case equalFold(name, "host"):
			if h.host != nil || len(value) == 0 {
				return false
			}
			h.host = value
		case equalFold(name, "content-length"):
			if h.contentLength >= 0 || !digits(value) {
				return false
			}
			h.contentLength = atoi(value)
		case equalFold(name, "connection"):
			// Headers named here are stripped by the general path.
			if named := connectionTokens(value, &h.close, nil); len(named) > 0 {
				return false
			}
		case equalFold(name, "transfer-encoding"), equalFold(name, "upgrade"),
			equalFold(name, "expect"), equalFold(name, "http2-settings"):
			return false
		case equalFold(name, "keep-alive"), equalFold(name, "proxy-connection"),
			equalFold(name, "te"), equalFold(name, "trailer"),
			equalFold(name, "proxy-authorization"), equalFold(name, "proxy-authenticate"),
			equalFold(name, "forwarded"), equalFold(name, "x-real-ip"),
			equalFold(name, "x-forwarded-ssl"), equalFold(name, "x-request-start"):
			// Hop-by-hop, or set by the router alone.
		case equalFold(name, "x-forwarded-for"):
			h.xff = append(h.xff, value)
		case equalFold(name, "x-forwarded-proto"):
			h.xfProto = value
		case equalFold(name, "x-forwarded-port"):
			h.xfPort = value
		case equalFold(name, "x-forwarded-host"):
			h.xfHost = value
		case equalFold(name, "x-request-id"):
			h.requestID = value
		default:
			h.keep = append(h.keep, line)
		}
	}
	return h.host != nil
}

// fastMethod reports whether the fast path forwards requests of method.
func fastMethod(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS":
		return true
	}
	return false
}

// connectionTokens reads a Connection value: it sets *close for "close",
// passes over "keep-alive", and appends any other token (the name of a
// header to strip) to names.
func connectionTokens(v []byte, close *bool, names [][]byte) [][]byte {
	for len(v) > 0 {
		var tok []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = trimOWS(v[:i]), v[i+1:]
		} else {
			tok, v = trimOWS(v), nil
		}
		switch {
		case len(tok) == 0, equalFold(tok, "keep-alive"):
		case equalFold(tok, "close"):
			*close = true
		default:
			names = append(names, tok)
		}
	}
	return names
}

// token reports whether b is an RFC 9110 token.
func token(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !tokenChar[c] {
			return false
		}
	}
	return len(b) > 0
}

var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// fieldValue reports whether b is a field value of visible ASCII, spaces
// and tabs: no control characters and no obs-text.
func fieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// trimOWS drops optional whitespace at both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares b with the lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// digits reports whether b is 1 to 15 decimal digits.
func digits(b []byte) bool {
	if len(b) == 0 || len(b) > 15 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// atoi reads digits checked by digits.
func atoi(b []byte) int64 {
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	return n
}

// normalizeHostBytes writes host, lowercased, without a port or a
// trailing dot, into dst and returns it; ok is false for a host the fast
// path leaves to the general one (IPv6 literals, non-ASCII, too long).
func normalizeHostBytes(dst []byte, host []byte) ([]byte, bool) {
	if len(host) == 0 || host[0] == '[' {
		return nil, false
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 {
		if !digits(host[i+1:]) && i+1 != len(host) {
			return nil, false
		}
		host = host[:i]
	}
	if len(host) > 0 && host[len(host)-1] == '.' {
		host = host[:len(host)-1]
	}
	if len(host) == 0 || len(host) > 253 {
		return nil, false
	}
	dst = dst[:0]
	for _, c := range host {
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c >= 0x80 || c <= ' ':
			return nil, false
		}
		dst = append(dst, c)
	}
	return dst, true
}

// originForm reports whether target is a path and query of visible ASCII
// whose percent signs each start an escape, as net/http requires.
func originForm(target []byte) bool {
	for i := 0; i < len(target); i++ {
		c := target[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
		if c == '%' && (i+2 >= len(target) || !isHex(target[i+1]) || !isHex(target[i+2])) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
