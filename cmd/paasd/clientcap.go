package main

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// capWarning returns the router's report of a connection closed at the
// per-client cap: a warning naming the source, at most once a minute.
func capWarning(log *slog.Logger) func(netip.Prefix) {
	var mu sync.Mutex
	var last time.Time
	return func(src netip.Prefix) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= time.Minute {
			last = now
			log.Warn("router: a client is at its connection cap; its new connections are closed", "part", "router", "source", src.String())
		}
	}
}
