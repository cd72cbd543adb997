package router

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// logAccess writes the request's line, Heroku router style:
//
//	at=info method=GET path="/x" host=hello.localhost request_id=… fwd="127.0.0.1" dyno=web.1 connect=0ms service=3ms status=200 bytes=12 protocol=http
//
// Failed requests start with at=error code=H13 desc="…".
func (r *Router) logAccess(st *reqState, req *http.Request, rw *responseWriter) {
	if r.accessLog == nil {
		return
	}
	r.accessLog(st.app, accessLine(st, req, rw, time.Now()))
}

func accessLine(st *reqState, req *http.Request, rw *responseWriter, end time.Time) string {
	status := rw.status
	if st.status != 0 {
		status = st.status
	} else if status == 0 {
		status = st.upstreamStatus
	}
	total := end.Sub(st.start)
	connect := time.Duration(st.connected.Load())
	if connect == 0 {
		connect = total
	}
	service := max(total-connect, 0)
	if st.code == "" && status == 0 {
		st.code, st.desc = "H13", "Connection closed without response"
	}

	b := make([]byte, 0, 256)
	if st.code == "" {
		b = append(b, "at=info"...)
	} else {
		b = append(b, "at=error code="...)
		b = append(b, st.code...)
		b = append(b, " desc="...)
		b = strconv.AppendQuote(b, st.desc)
	}
	b = append(b, " method="...)
	b = append(b, token(req.Method)...)
	b = append(b, " path="...)
	b = strconv.AppendQuote(b, req.URL.RequestURI())
	b = append(b, " host="...)
	b = append(b, token(normalizeHost(req.Host))...)
	b = append(b, " request_id="...)
	b = append(b, st.id...)
	b = append(b, " fwd="...)
	b = strconv.AppendQuote(b, clientIP(req.RemoteAddr))
	backend := st.getBackend()
	b = append(b, " dyno="...)
	if backend.Addr != "" {
		b = append(b, token(backend.Name)...)
	}
	b = append(b, " connect="...)
	if backend.Addr != "" {
		b = strconv.AppendInt(b, connect.Milliseconds(), 10)
		b = append(b, "ms"...)
	}
	b = append(b, " service="...)
	if st.connected.Load() != 0 {
		b = strconv.AppendInt(b, service.Milliseconds(), 10)
		b = append(b, "ms"...)
	}
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, rw.bytes, 10)
	b = append(b, " protocol="...)
	if req.TLS != nil {
		b = append(b, "https"...)
	} else {
		b = append(b, "http"...)
	}
	return string(b)
}

// clientIP is the host part of a remote address.
func clientIP(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// token makes s safe as an unquoted logfmt value: spaces, quotes, equals
// signs and control characters become '?'.
func token(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == '"' || r == '=' || r == 0x7f || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
