package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// upHead is an instance's response head as the fast path passes it on.
// Its slices point into the upstream connection's read buffer and are
// valid until the head is discarded. It is reused from request to
// request.
type upHead struct {
	started       bool     // some bytes of a response arrived
	status        int      //
	statusText    []byte   // "200 OK"
	lines         [][]byte // header lines for the client, without CRLF
	strip         [][]byte // header names listed in Connection
	contentLength int64    // -1 without one
	chunked       bool
	close         bool // the instance closes the connection after it
}

// errUpstreamHead is a response head the router will not pass on.
var errUpstreamHead = errors.New("malformed response head")

// readUpHead reads the next final response head from br into uh and
// discards it from br; informational (1xx) responses are skipped.
func readUpHead(br *bufio.Reader, uh *upHead) error {
	*uh = upHead{lines: uh.lines[:0], strip: uh.strip[:0]}
	for {
		var head []byte
		for {
			buf, _ := br.Peek(br.Buffered())
			if len(buf) > 0 {
				uh.started = true
			}
			if i := bytes.Index(buf, crlfcrlf); i >= 0 {
				head = buf[:i+4]
				break
			}
			if len(buf) >= br.Size() {
				return errUpstreamHead
			}
			if _, err := br.Peek(len(buf) + 1); err != nil {
				return eofUnexpectedIf(err, len(buf) > 0)
			}
		}
		if bareLF(head) || !parseUpHead(head, uh) {
			return errUpstreamHead
		}
		if uh.status >= 200 {
			// The lines stay valid: Discard moves no bytes in the buffer.
			br.Discard(len(head))
			return nil
		}
		if uh.status == 101 {
			return errUpstreamHead // never asked for
		}
		br.Discard(len(head))
		*uh = upHead{lines: uh.lines[:0], strip: uh.strip[:0], started: true}
	}
}

// headBuffered reports whether a whole response head is in br already,
// so that reading it waits for nothing.
func headBuffered(br *bufio.Reader) bool {
	buf, _ := br.Peek(br.Buffered())
	return bytes.Contains(buf, crlfcrlf)
}

// eofUnexpectedIf turns an end of file after some bytes into an
// unexpected one.
func eofUnexpectedIf(err error, some bool) error {
	if err == io.EOF && some {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseUpHead parses a response head ending in CRLF CRLF.
func parseUpHead(head []byte, uh *upHead) bool {
	uh.contentLength = -1
	end := bytes.Index(head, crlf)
	line, rest := head[:end], head[end+2:]
	switch {
	case bytes.HasPrefix(line, []byte("HTTP/1.1 ")):
	case bytes.HasPrefix(line, []byte("HTTP/1.0 ")):
		uh.close = true
	default:
		return false
	}
	uh.statusText = line[9:]
	if len(uh.statusText) < 3 || !digits(uh.statusText[:3]) || (len(uh.statusText) > 3 && uh.statusText[3] != ' ') ||
		!responseValue(uh.statusText) {
		return false
	}
	uh.status = int(atoi(uh.statusText[:3]))
	if uh.status < 100 {
		return false
	}

	// Connection may name headers to drop wherever they come: read it
	// first.
	for l := rest; len(l) > 2; {
		end := bytes.Index(l, crlf)
		line := l[:end]
		l = l[end+2:]
		if colon := bytes.IndexByte(line, ':'); colon > 0 && equalFold(line[:colon], "connection") {
			uh.strip = connectionTokens(line[colon+1:], &uh.close, uh.strip)
		}
	}

	for len(rest) > 2 {
		end := bytes.Index(rest, crlf)
		line, rest = rest[:end], rest[end+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !token(line[:colon]) {
			return false
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !responseValue(value) {
			return false
		}
		switch {
		case equalFold(name, "content-length"):
			if !digits(value) {
				return false
			}
			n := atoi(value)
			if uh.contentLength >= 0 && uh.contentLength != n {
				return false
			}
			if uh.contentLength >= 0 {
				continue // the same length twice: pass it once
			}
			uh.contentLength = n
		case equalFold(name, "transfer-encoding"):
			if uh.chunked || !endsChunked(value) {
				return false
			}
			uh.chunked = true
		case equalFold(name, "connection"), equalFold(name, "keep-alive"),
			equalFold(name, "proxy-connection"), equalFold(name, "upgrade"),
			equalFold(name, "x-request-id"):
			continue
		}
		if named(uh.strip, name) {
			continue
		}
		uh.lines = append(uh.lines, line)
	}
	if uh.chunked && uh.contentLength >= 0 {
		// Chunked framing wins; the length goes.
		uh.contentLength = -1
		kept := uh.lines[:0]
		for _, l := range uh.lines {
			if !equalFold(l[:bytes.IndexByte(l, ':')], "content-length") {
				kept = append(kept, l)
			}
		}
		uh.lines = kept
	}
	return true
}

// endsChunked reports whether a Transfer-Encoding value ends with the
// chunked coding.
func endsChunked(v []byte) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = trimOWS(v[i+1:])
	}
	return equalFold(v, "chunked")
}

// named reports whether name is in names, ignoring case.
func named(names [][]byte, name []byte) bool {
	for _, n := range names {
		if bytes.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// responseValue reports whether b may be a response field value: no
// control characters but tab (responses may carry obs-text).
func responseValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
