package router

import (
	"bytes"
	"net"
	"net/url"
	"sync"
)

// framingConn is a client connection of the general path that reads each
// HTTP/1 request head before net/http does. It holds back the bytes after
// a head until net/http has read the head and the body its Content-Length
// announces, so it always knows where the next head starts. net/http
// forgets what makes a request's framing ambiguous before a handler runs:
// it drops a Content-Length sent next to a Transfer-Encoding, ignores a
// Transfer-Encoding in HTTP/1.0, and replaces the Host header of an
// absolute-form request with the target's host. The head read here keeps
// them, and frameGuard refuses such requests.
//
// A head it does not follow to its end (a Transfer-Encoding, an Upgrade,
// CONNECT, obs-fold, a version other than 1.0 and 1.1, a target that is
// neither a path nor an absolute URI, a head over the size limit, one
// refused) ends the watching: from then on every byte passes through, no
// later head is recorded, and frameGuard closes the connection after the
// response to the request in flight.
type framingConn struct {
	net.Conn
	max int // the largest head watched

	buf  []byte
	r, w int   // buf[r:w]: read from Conn, not yet returned by Read
	out  int   // of those, how many Read may return now
	body int64 // body bytes Read may return after out, before the next head
	scan int   // buf[r:r+scan] has no head end
	pass bool  // watching ended

	mu    sync.Mutex
	heads []headInfo // heads read, not yet claimed by their request's handler
	stale bool       // a claim failed or watching ended: no later head is recorded
}

// headInfo is what a request head said.
type headInfo struct {
	method, target string
	refuse         string // why the request gets 400; "" when it does not
	keep           bool   // the connection may carry another request after it
}

// newFramingConn watches the request heads read from c, up to max bytes
// each.
func newFramingConn(c net.Conn, max int) *framingConn {
	return &framingConn{Conn: c, max: max}
}

// Read returns the bytes read from the connection: a head once it is
// whole, then its body, then the next head.
func (c *framingConn) Read(p []byte) (int, error) {
	for {
		switch {
		case c.out > 0:
			n := copy(p, c.buf[c.r:c.r+min(c.out, len(p))])
			c.r += n
			c.out -= n
			return n, nil
		case c.body > 0 && c.r < c.w:
			c.out = int(min(c.body, int64(c.w-c.r)))
			c.body -= int64(c.out)
		case c.body > 0:
			if int64(len(p)) > c.body {
				p = p[:c.body]
			}
			n, err := c.Conn.Read(p)
			c.body -= int64(n)
			return n, err
		case c.pass && c.r < c.w:
			n := copy(p, c.buf[c.r:c.w])
			c.r += n
			return n, nil
		case c.pass:
			return c.Conn.Read(p)
		default:
			if err := c.nextHead(); err != nil {
				return 0, err
			}
		}
	}
}

// CloseWrite shuts the writing side of the connection when it can, as
// net/http does before closing a connection whose request it refused.
func (c *framingConn) CloseWrite() error { return closeWrite(c.Conn) }

// closeWrite shuts the writing side of c when it has one.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// nextHead reads until the buffer holds a whole head, records it, and
// sets out and body. A connection that ends or fails in the middle of a
// head, or sends one over the limit, passes what it sent through; the
// error comes with the next read. A timeout keeps what was read.
func (c *framingConn) nextHead() error {
	for {
		if end := c.headEnd(); end > 0 {
			c.out = end
			c.scan = 0
			c.record(c.buf[c.r : c.r+end])
			return nil
		}
		if c.w-c.r >= c.max {
			c.stop()
			return nil
		}
		if c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		if c.w == len(c.buf) {
			grown := make([]byte, min(max(2*len(c.buf), 4096), c.max))
			copy(grown, c.buf[:c.w])
			c.buf = grown
		}
		n, err := c.Conn.Read(c.buf[c.w:])
		c.w += n
		switch {
		case err == nil:
		case isTimeout(err):
			// A deadline (net/http's header timeout, or its abort
			// of a read in the background): the head may still
			// come once the deadline moves.
			return err
		case c.r < c.w:
			c.stop()
			return nil
		default:
			return err
		}
	}
}

// headEnd returns the length of the head at the start of buf[r:w],
// leading CR and LF bytes included, or 0 while its blank line has not
// arrived. Lines end in LF with an optional CR, as net/http reads them.
func (c *framingConn) headEnd() int {
	b := c.buf[c.r:c.w]
	start := 0
	for start < len(b) && (b[start] == '\r' || b[start] == '\n') {
		start++
	}
	from := max(c.scan, start)
	for {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			break
		}
		i += from
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		case i+2 >= len(b):
			c.scan = i // the bytes after this LF have not all arrived
			return 0
		}
		from = i + 1
	}
	c.scan = len(b)
	return 0
}

// record reads a head and decides what follows it.
func (c *framingConn) record(head []byte) {
	info, body, follow := readHeadInfo(head)
	c.mu.Lock()
	if !c.stale {
		c.heads = append(c.heads, info)
	}
	c.mu.Unlock()
	if follow {
		c.body = body
	} else {
		c.stop()
	}
}

// stop ends the watching.
func (c *framingConn) stop() {
	c.pass = true
	c.mu.Lock()
	c.stale = true
	c.mu.Unlock()
}

// claim returns what the head of the request with method and target said,
// in the order the heads were read. ok is false when the head was not
// recorded or another one was expected: then nothing is known of this
// connection any more.
func (c *framingConn) claim(method, target string) (info headInfo, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.heads) == 0 {
		return headInfo{}, false
	}
	info = c.heads[0]
	c.heads = c.heads[1:]
	if info.method != method || info.target != target {
		c.stale = true
		c.heads = nil
		return headInfo{}, false
	}
	return info, true
}

// Reasons for refusing a request whose framing or host is ambiguous.
const (
	refuseTE10     = "The request has a Transfer-Encoding, which HTTP/1.0 does not know."
	refuseTEAndCL  = "The request has both a Transfer-Encoding and a Content-Length."
	refuseHostPair = "The request's target names another host than its Host header."
)

// readHeadInfo reads a head the way net/http will, as far as framing and
// routing go. follow reports whether the next head starts after body
// bytes; it is false for anything else.
func readHeadInfo(head []byte) (info headInfo, body int64, follow bool) {
	head = bytes.TrimLeft(head, "\r\n")
	line, rest, _ := bytes.Cut(head, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	method, line, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(line, []byte(" "))
	info.method, info.target = string(method), string(target)
	if !ok1 || !ok2 {
		return info, 0, false
	}
	http10 := string(proto) == "HTTP/1.0"
	follow = http10 || string(proto) == "HTTP/1.1"

	var te, upgrade bool
	var lengths, hosts [][]byte
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !token(name) {
			follow = false // obs-fold, or a line net/http refuses
			continue
		}
		value = trimOWS(value)
		switch {
		case equalFold(name, "transfer-encoding"):
			te = true
		case equalFold(name, "content-length"):
			lengths = append(lengths, value)
		case equalFold(name, "host"):
			hosts = append(hosts, value)
		case equalFold(name, "upgrade"):
			upgrade = true
		}
	}

	switch {
	case te && http10:
		info.refuse = refuseTE10
	case te && len(lengths) > 0:
		info.refuse = refuseTEAndCL
	case len(target) > 0 && target[0] != '/' && len(hosts) == 1:
		if u, err := url.ParseRequestURI(string(target)); err == nil && u.Host != "" &&
			normalizeHost(u.Host) != normalizeHost(string(hosts[0])) {
			info.refuse = refuseHostPair
		}
	}
	if info.refuse != "" || te || upgrade || info.method == "CONNECT" {
		return info, 0, false
	}
	if len(target) == 0 || (target[0] != '/' && !bytes.Contains(target, []byte("://"))) {
		follow = false // "*", an authority, or garbage
	}
	for _, l := range lengths {
		if !bytes.Equal(l, lengths[0]) || !digits(l) {
			follow = false
		}
	}
	if len(lengths) > 0 && follow {
		body = atoi(lengths[0])
	}
	info.keep = follow
	return info, body, follow
}
