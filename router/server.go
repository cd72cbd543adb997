package router

import (
	"io"
	"log"
	"net/http"
	"time"
)

// NewServer returns an http.Server for h with timeouts suited to a front
// door: slow header senders are cut off, idle keep-alive connections are
// closed, and bodies may stream for as long as they need (no read or write
// timeout, so long polls, server-sent events and WebSockets work). The
// server's own error log is discarded; set ErrorLog to keep it.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
}
