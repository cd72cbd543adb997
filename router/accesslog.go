package router

import (
	"net"
	"net/http"
	"strconv"
	"time"
)

// logAccess writes the request's line, Heroku router style:
//
//	at=info method=GET path="/x" host=hello.localhost request_id=… fwd="127.0.0.1" dyno=web.1 connect=0ms service=3ms status=200 bytes=12 protocol=http
//
// Failed requests start with at=error code=H13 desc="…".
func (r *Router) logAccess(st *reqState, req *http.Request, rw *responseWriter) {
	if r.accessLog == nil && r.observe == nil {
		return
	}
	end := time.Now()
	if r.observe != nil && st.app != "" {
		r.observe(st.app, answered(st, rw), end.Sub(st.start))
	}
	if r.accessLog != nil {
		r.accessLog(st.app, accessLine(st, req, rw, end))
	}
}

// answered is the status the request was answered with, 0 when none.
func answered(st *reqState, rw *responseWriter) int {
	status := rw.status
	if st.status != 0 {
		status = st.status
	} else if status == 0 {
		status = st.upstreamStatus
	}
	return status
}

func accessLine(st *reqState, req *http.Request, rw *responseWriter, end time.Time) string {
	status := answered(st, rw)
	if st.code == "" && status == 0 {
		st.code, st.desc = "H13", "Connection closed without response"
	}
	e := accessEntry{
		code: st.code, desc: st.desc,
		method: req.Method, uri: []byte(req.URL.RequestURI()), host: []byte(normalizeHost(req.Host)),
		id: []byte(st.id), fwd: clientIP(req.RemoteAddr), backend: st.getBackend(),
		total: end.Sub(st.start), connect: time.Duration(st.connected.Load()),
		status: status, bytes: rw.bytes, https: req.TLS != nil,
	}
	return string(e.appendTo(make([]byte, 0, 256)))
}

// accessEntry is what one request's log line says.
type accessEntry struct {
	code, desc    string // Heroku-style error code; empty on success
	method, fwd   string
	uri, host, id []byte
	backend       Backend       // zero when none was chosen
	total         time.Duration // from request start to the end
	connect       time.Duration // to a backend connection; 0 when none
	status        int
	bytes         int64
	https         bool
}

// appendTo appends the line to b.
func (e *accessEntry) appendTo(b []byte) []byte {
	connect := e.connect
	if connect == 0 {
		connect = e.total
	}
	service := max(e.total-connect, 0)
	if e.code == "" {
		b = append(b, "at=info"...)
	} else {
		b = append(b, "at=error code="...)
		b = append(b, e.code...)
		b = append(b, " desc="...)
		b = strconv.AppendQuote(b, e.desc)
	}
	b = append(b, " method="...)
	b = appendToken(b, []byte(e.method))
	b = append(b, " path="...)
	b = appendQuoted(b, e.uri)
	b = append(b, " host="...)
	b = appendToken(b, e.host)
	b = append(b, " request_id="...)
	b = append(b, e.id...)
	b = append(b, " fwd="...)
	b = strconv.AppendQuote(b, e.fwd)
	b = append(b, " dyno="...)
	if e.backend.Addr != "" {
		b = appendToken(b, []byte(e.backend.Name))
	}
	b = append(b, " connect="...)
	if e.backend.Addr != "" {
		b = strconv.AppendInt(b, connect.Milliseconds(), 10)
		b = append(b, "ms"...)
	}
	b = append(b, " service="...)
	if e.connect != 0 {
		b = strconv.AppendInt(b, service.Milliseconds(), 10)
		b = append(b, "ms"...)
	}
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, e.bytes, 10)
	b = append(b, " protocol="...)
	if e.https {
		b = append(b, "https"...)
	} else {
		b = append(b, "http"...)
	}
	return b
}

// clientIP is the host part of a remote address.
func clientIP(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// appendToken appends s as an unquoted logfmt value: spaces, quotes,
// equals signs, control characters and other bytes outside printable
// ASCII become '?'; an empty s is "-".
func appendToken(b []byte, s []byte) []byte {
	if len(s) == 0 {
		return append(b, '-')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '"' || c == '=' || c >= 0x7f {
			c = '?'
		}
		b = append(b, c)
	}
	return b
}

// appendQuoted appends s in double quotes: quotes and backslashes are
// escaped, bytes outside printable ASCII written as \xNN.
func appendQuoted(b []byte, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < ' ' || c >= 0x7f:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
