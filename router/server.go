package router

import (
	"io"
	"log"
	"net/http"
	"time"
)

// ServerLimits bound what one client may do on the front door. Zero
// fields take the defaults.
type ServerLimits struct {
	// HeaderTimeout cuts a client that has not sent a request's headers
	// in time (slowloris). Default 10s.
	HeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request. Default
	// 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes is the largest request line and header block; larger
	// ones get 431. Default 16 KiB.
	MaxHeaderBytes int
}

// Server defaults.
const (
	defaultHeaderTimeout  = 10 * time.Second
	defaultIdleTimeout    = 120 * time.Second
	defaultMaxHeaderBytes = 16 << 10
	// headerSlop is what net/http reads beyond MaxHeaderBytes before it
	// answers 431.
	headerSlop = 4096
)

// NewServer returns an http.Server for h with the default limits.
func NewServer(addr string, h http.Handler) *http.Server {
	return ServerLimits{}.Server(addr, h)
}

// Server returns an http.Server for h with timeouts suited to a front
// door: slow header senders are cut off, idle keep-alive connections are
// closed, and bodies may stream for as long as they need (no read or write
// timeout, so long polls, server-sent events and WebSockets work).
// Before h it refuses CONNECT and requests whose framing or host is
// ambiguous, and it closes a connection after a request whose framing it
// could not follow (see frameGuard; Front and ServeTLS give it the heads
// as sent). The server's own error log is discarded; set ErrorLog to
// keep it.
func (l ServerLimits) Server(addr string, h http.Handler) *http.Server {
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = defaultHeaderTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = defaultIdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	return &http.Server{
		Addr:              addr,
		Handler:           frameGuard(h),
		ConnContext:       connContext,
		ReadHeaderTimeout: l.HeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    max(l.MaxHeaderBytes-headerSlop, 1024),
		ErrorLog:          log.New(io.Discard, "", 0),
	}
}

// maxWatchedHead is the largest request head a framingConn of srv
// watches: as much as srv reads before it answers 431.
func maxWatchedHead(srv *http.Server) int {
	n := srv.MaxHeaderBytes
	if n <= 0 {
		n = http.DefaultMaxHeaderBytes
	}
	return n + headerSlop
}
