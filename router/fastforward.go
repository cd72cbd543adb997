package router

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// forward sends the request in fc.head to an instance of its app and the
// instance's response back. ok false means nothing was consumed and the
// request is for the general path; keep reports whether the client
// connection may carry another request.
func (fc *frontConn) forward() (keep, ok bool) {
	r, h := fc.f.r, &fc.head
	host, good := normalizeHostBytes(fc.hostBuf, h.host)
	if !good {
		return false, false
	}
	fc.hostBuf = host
	rt := r.routeForBytes(host)
	if !fastRoute(rt) {
		return false, false
	}
	if limit := r.bodyLimit(rt); limit > 0 && h.contentLength > limit {
		return false, false
	}
	fc.now = time.Time{}
	start := time.Now()
	now := start.UnixNano()
	tg := rt.pick(now)
	for !r.acquire(tg.ep) {
		// tg was retired after rt was read: a newer table is published.
		if rt = r.routeForBytes(host); !fastRoute(rt) {
			return false, false
		}
		tg = rt.pick(now)
	}
	// The instance is done with the request once its response is read:
	// the count drops before the last bytes go to the client.
	released := false
	releaseTarget := func() {
		if !released {
			released = true
			r.release(tg.ep)
		}
	}
	defer releaseTarget()
	fc.f.fast.Add(1)

	fc.id = fc.id[:0]
	if validRequestID(h.requestID) {
		fc.id = append(fc.id, h.requestID...)
	} else {
		fc.id = appendRequestID(fc.id)
	}
	fc.target = append(fc.target[:0], h.target...)
	e := accessEntry{method: methodName(h.method), fwd: fc.peer}
	hasBody := h.contentLength > 0
	retryable := !hasBody && idempotent(e.method)

	// Connect, moving once to another instance when this one refuses.
	uc, reused, err := r.upstream(tg, rt, start)
	if err != nil && isDialError(err) {
		tg.ep.markDown(now)
		if next := rt.other(tg, now); retryable && next != nil && r.acquire(next.ep) {
			r.release(tg.ep)
			tg = next
			uc, reused, err = r.upstream(tg, rt, start)
		}
	}
	e.backend = tg.Backend
	if err != nil {
		e.code, e.desc = "H19", "Backend connection failed"
		if isTimeout(err) {
			e.code, e.desc = "H19", "Backend connection timeout"
		}
		fc.br.Discard(h.size)
		return fc.fail(&e, start, http.StatusBadGateway, "Bad gateway", "The app could not be reached.", hasBody)
	}
	e.connect = 1 // a kept-alive connection: no time to speak of
	if !reused {
		e.connect = max(time.Since(start), 1)
	}

	// Send the request; a kept-alive connection the instance closed
	// meanwhile is replaced once, when the request can be sent again.
	timeout := r.headerTimeout
	if rt.opts.ResponseTimeout > 0 {
		timeout = rt.opts.ResponseTimeout
	}
	uh := &fc.upHeader
	fc.out = fc.appendRequestHead(fc.out[:0], start)
	for attempt := 0; ; attempt++ {
		uh.started = false // nothing of this response read yet
		var req []byte     // the request, when awaitResponse is to send it
		if hasBody {
			err = fc.send(uc)
		} else {
			req = fc.out
		}
		if err == nil {
			now := start // a moment ago, unless a body was sent or another instance dialled
			if hasBody || attempt > 0 {
				now = time.Now()
			}
			deadline := now.Add(timeout)
			if err = fc.awaitResponse(uc, now, deadline, req); err == nil {
				if !headBuffered(uc.br) {
					uc.rdl.set(uc.Conn, now, deadline, 0)
				}
				err = readUpHead(uc.br, uh)
			}
		}
		if err == nil || !retryable || attempt > 0 || isTimeout(err) || uh.started || errors.Is(err, errClientGone) {
			break
		}
		uc.Close()
		uc = nil
		if !reused {
			// A new connection closed without a response: the
			// instance is going away (or the engine's proxy in
			// front of it lost it). As nginx's proxy_next_upstream
			// does by default, another instance is asked, once.
			tg.ep.markDown(now)
			next := rt.other(tg, now)
			if next == nil || !r.acquire(next.ep) {
				break
			}
			r.release(tg.ep)
			tg = next
			e.backend = tg.Backend
		}
		if uc, err = r.dialUpstream(tg, rt); err != nil {
			break
		}
		reused = false
	}
	if !hasBody {
		fc.br.Discard(h.size)
	}
	if err != nil {
		if uc != nil {
			uc.Close()
		}
		switch {
		case errors.Is(err, errClientBody), errors.Is(err, errClientGone):
			// The instance saw its connection close: the request is
			// abandoned there too.
			e.code, e.desc = "H27", "Client Request Interrupted"
			e.status = statusClientClosed
			fc.log(rt, &e, start)
			return false, true
		case isTimeout(err):
			e.code, e.desc = "H12", "Request timeout"
			return fc.fail(&e, start, http.StatusGatewayTimeout, "Gateway timeout", "The app did not answer in time.", hasBody)
		case isDialError(err):
			e.code, e.desc = "H19", "Backend connection failed"
		default:
			e.code, e.desc = "H13", "Connection closed without response"
		}
		return fc.fail(&e, start, http.StatusBadGateway, "Bad gateway", "The app could not be reached.", hasBody)
	}

	// The response.
	e.status = uh.status
	noBody := e.method == "HEAD" || uh.status == 204 || uh.status == 304
	untilClose := !noBody && !uh.chunked && uh.contentLength < 0
	keep = !h.close && !untilClose && !fc.f.draining.Load()
	fc.writeResponseHead(uh, keep)
	var n int64
	var rerr, werr error
	if !noBody && (uh.chunked || uh.contentLength < 0 || int64(uc.br.Buffered()) < uh.contentLength) {
		// The body streams for as long as it takes.
		uc.rdl.clear(uc.Conn)
	}
	switch {
	case noBody:
		werr = fc.bw.Flush()
	case uh.chunked:
		n, rerr, werr = copyChunked(fc.bw, uc.br)
	default:
		n, rerr, werr = pump(fc.bw, uc.br, uh.contentLength)
	}
	if rerr == nil && werr == nil && !uh.close && !untilClose {
		// Last used at start: a connection that served a long
		// request is checked for staleness a little sooner.
		tg.ep.pool.put(uc, start)
	} else {
		uc.Close()
	}
	releaseTarget()
	if rerr == nil && werr == nil {
		werr = fc.bw.Flush()
	}
	end := time.Now()
	e.total = end.Sub(start)
	fc.now = end
	e.bytes = n
	switch {
	case rerr != nil:
		e.code, e.desc = "H18", "Server Request Interrupted"
		keep = false
	case werr != nil:
		e.code, e.desc = "H27", "Client Request Interrupted"
		keep = false
	}
	fc.log(rt, &e, start)
	return keep, true
}

// fastRoute reports whether requests of rt can take the fast path.
func fastRoute(rt *route) bool {
	return rt != nil && !rt.maintenance && !rt.opts.HTTPSRedirect && len(rt.targets) > 0
}

// errClientBody is a client that stopped sending its request body.
var errClientBody = errors.New("reading the request body")

// send writes the request head in fc.out and the body to uc.
func (fc *frontConn) send(uc *upConn) error {
	h := &fc.head
	uc.bw.Write(fc.out)
	if h.contentLength > 0 {
		fc.br.Discard(h.size)
		// The client's body: no header deadline while it streams.
		fc.rdl.clear(fc.c)
		_, rerr, werr := pump(uc.bw, fc.br, h.contentLength)
		if rerr != nil {
			return errClientBody
		}
		if werr != nil {
			return werr
		}
	}
	return uc.bw.Flush()
}

// appendRequestHead appends the head the instance gets: the client's,
// less hop-by-hop headers, with the forwarding headers of the router.
func (fc *frontConn) appendRequestHead(b []byte, start time.Time) []byte {
	h := &fc.head
	trusted := fc.trusted
	b = append(b, h.method...)
	b = append(b, ' ')
	b = append(b, h.target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, h.host...)
	b = append(b, "\r\n"...)
	for _, l := range h.keep {
		b = append(b, l...)
		b = append(b, "\r\n"...)
	}
	if h.contentLength >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, h.contentLength, 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "X-Forwarded-For: "...)
	if trusted {
		for _, v := range h.xff {
			b = append(b, v...)
			b = append(b, ", "...)
		}
	}
	b = append(b, fc.peer...)
	b = append(b, "\r\nX-Forwarded-Proto: "...)
	if trusted && (string(h.xfProto) == "http" || string(h.xfProto) == "https") {
		b = append(b, h.xfProto...)
	} else {
		b = append(b, "http"...)
	}
	b = append(b, "\r\nX-Forwarded-Port: "...)
	if trusted && validPort(string(h.xfPort)) {
		b = append(b, h.xfPort...)
	} else {
		b = append(b, fc.port...)
	}
	b = append(b, "\r\nX-Forwarded-Host: "...)
	if trusted && len(h.xfHost) > 0 {
		b = append(b, h.xfHost...)
	} else {
		b = append(b, h.host...)
	}
	b = append(b, "\r\nX-Request-Id: "...)
	b = append(b, fc.id...)
	b = append(b, "\r\nX-Request-Start: "...)
	b = strconv.AppendInt(b, start.UnixMilli(), 10)
	b = append(b, "\r\nVia: 1.1 paas\r\n\r\n"...)
	return b
}

// writeResponseHead writes the head the client gets: the instance's, less
// hop-by-hop headers, with the request id.
func (fc *frontConn) writeResponseHead(uh *upHead, keep bool) {
	w := fc.bw
	w.WriteString("HTTP/1.1 ")
	w.Write(uh.statusText)
	w.WriteString("\r\n")
	for _, l := range uh.lines {
		w.Write(l)
		w.WriteString("\r\n")
	}
	w.WriteString("X-Request-Id: ")
	w.Write(fc.id)
	if !keep {
		w.WriteString("\r\nConnection: close")
	}
	w.WriteString("\r\n\r\n")
}

// fail answers with a page of the platform and logs the request.
func (fc *frontConn) fail(e *accessEntry, start time.Time, status int, title, detail string, closeConn bool) (keep, ok bool) {
	e.status = status
	keep = !closeConn && !fc.head.close && !fc.f.draining.Load()
	body := pageBody(title, detail, string(fc.id))
	w := fc.bw
	w.WriteString("HTTP/1.1 ")
	w.WriteString(strconv.Itoa(status))
	w.WriteByte(' ')
	w.WriteString(http.StatusText(status))
	w.WriteString("\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(body)))
	w.WriteString("\r\nX-Request-Id: ")
	w.Write(fc.id)
	if !keep {
		w.WriteString("\r\nConnection: close")
	}
	w.WriteString("\r\n\r\n")
	w.WriteString(body)
	if err := w.Flush(); err != nil {
		keep = false
	}
	e.bytes = int64(len(body))
	fc.log(nil, e, start)
	return keep, true
}

// log writes the request's access line.
func (fc *frontConn) log(rt *route, e *accessEntry, start time.Time) {
	r := fc.f.r
	if r.accessLog == nil && r.observe == nil {
		return
	}
	e.uri, e.host, e.id = fc.target, fc.hostBuf, fc.id
	if e.total == 0 {
		e.total = time.Since(start)
	}
	app := ""
	if rt != nil {
		app = rt.app
	} else if rt = r.routeForBytes(fc.hostBuf); rt != nil {
		app = rt.app
	}
	if r.observe != nil && app != "" {
		r.observe(app, e.status, e.total)
	}
	if r.accessLog == nil {
		return
	}
	fc.line = e.appendTo(fc.line[:0])
	r.accessLog(app, string(fc.line))
}

// methodName returns the method as a constant string.
func methodName(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(m)
}

// pump copies n bytes (until end of file when n < 0) from src to dst.
// Before a read that would wait for the network it flushes dst, so a
// stream reaches the client as it comes. It reports the bytes copied and
// the read or write error that stopped it.
func pump(dst *bufio.Writer, src *bufio.Reader, n int64) (copied int64, rerr, werr error) {
	if n >= 0 && int64(src.Buffered()) >= n {
		b, _ := src.Peek(int(n))
		_, werr = dst.Write(b)
		src.Discard(int(n))
		return n, nil, werr
	}
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	for n != 0 {
		if src.Buffered() == 0 {
			if werr = dst.Flush(); werr != nil {
				return copied, nil, werr
			}
		}
		p := *bp
		if n > 0 && int64(len(p)) > n {
			p = p[:n]
		}
		k, err := src.Read(p)
		if k > 0 {
			if _, werr = dst.Write(p[:k]); werr != nil {
				return copied, nil, werr
			}
			copied += int64(k)
			if n > 0 {
				n -= int64(k)
			}
		}
		if err != nil {
			if err == io.EOF && n < 0 {
				return copied, nil, nil
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return copied, err, nil
		}
	}
	return copied, nil, nil
}

// errChunked is a malformed chunked body from an instance.
var errChunked = errors.New("malformed chunked response body")

// copyChunked passes a chunked body from src to dst as it is, checking
// its framing chunk by chunk, trailers included. It reports the payload
// bytes copied.
func copyChunked(dst *bufio.Writer, src *bufio.Reader) (copied int64, rerr, werr error) {
	for {
		if src.Buffered() == 0 {
			if werr = dst.Flush(); werr != nil {
				return copied, nil, werr
			}
		}
		line, err := src.ReadSlice('\n')
		if err != nil {
			return copied, eofUnexpected(err), nil
		}
		size, ok := chunkSize(line)
		if !ok {
			return copied, errChunked, nil
		}
		if _, werr = dst.Write(line); werr != nil {
			return copied, nil, werr
		}
		if size == 0 {
			for { // trailers, then the blank line
				line, err := src.ReadSlice('\n')
				if err != nil {
					return copied, eofUnexpected(err), nil
				}
				if len(line) < 2 || line[len(line)-2] != '\r' || (len(line) > 2 && !fieldLine(line[:len(line)-2])) {
					return copied, errChunked, nil
				}
				if _, werr = dst.Write(line); werr != nil {
					return copied, nil, werr
				}
				if len(line) == 2 {
					return copied, nil, nil
				}
			}
		}
		k, rerr, werr := pump(dst, src, size)
		copied += k
		if rerr != nil || werr != nil {
			return copied, rerr, werr
		}
		end, err := src.Peek(2)
		if err != nil {
			return copied, eofUnexpected(err), nil
		}
		if end[0] != '\r' || end[1] != '\n' {
			return copied, errChunked, nil
		}
		src.Discard(2)
		if _, werr = dst.WriteString("\r\n"); werr != nil {
			return copied, nil, werr
		}
	}
}

// chunkSize reads a chunk-size line ending in CRLF: hex digits, then
// optional extensions of visible characters.
func chunkSize(line []byte) (int64, bool) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, false
	}
	line = line[:len(line)-2]
	var n int64
	i := 0
	for ; i < len(line) && i < 15; i++ { // 15 hex digits cannot overflow
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto ext
		}
		n = n<<4 | int64(d)
	}
ext:
	if i == 0 || (i < len(line) && line[i] != ';' && line[i] != ' ' && line[i] != '\t') || !fieldValue(line[i:]) {
		return 0, false
	}
	return n, true
}

// fieldLine reports whether a trailer line is "name: value".
func fieldLine(l []byte) bool {
	for i, c := range l {
		if c == ':' {
			return token(l[:i]) && responseValue(l[i+1:])
		}
	}
	return false
}

func eofUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// isTimeout reports whether err is a timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
