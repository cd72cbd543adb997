// Package loadgen keeps steady HTTP load on an app through the router and
// counts every outcome: it is how tests and benchmarks prove that a
// deploy, a scale or a restart drops no request. Each of Conns workers owns
// one keep-alive connection and sends GET requests back to back, with no
// pause, until the run is stopped.
package loadgen

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// DefaultTimeout bounds a request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config describes the load to generate.
type Config struct {
	URL     string        // e.g. "http://127.0.0.1:PORT/"
	Host    string        // Host header, e.g. "hello.localhost"; empty keeps the URL's host
	Conns   int           // concurrent keep-alive connections; below 1 means 1
	Timeout time.Duration // per request, DefaultTimeout when zero
}

// Run is load in progress, started by Start.
type Run struct {
	stop     chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	tally    tally
	stopOnce sync.Once
	final    Result
}

// Start starts cfg.Conns workers, each with its own client and transport
// holding one keep-alive connection, looping GET requests until Stop is
// called or ctx ends. Requests cut short by the end of ctx are not
// counted; Stop lets requests in flight finish (each is bounded by the
// timeout) so that every request the server saw is counted. A URL that
// is not http(s)://HOST/… starts no worker and counts as one failure.
func Start(ctx context.Context, cfg Config) *Run {
	if cfg.Conns < 1 {
		cfg.Conns = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Run{stop: make(chan struct{}), cancel: cancel}
	r.tally.init()
	if err := checkURL(cfg.URL); err != nil {
		r.tally.failure(err.Error())
		return r
	}
	for i := 0; i < cfg.Conns; i++ {
		w := newWorker(cfg, &r.tally)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			w.loop(ctx, r.stop)
		}()
	}
	return r
}

// checkURL makes sure u names an HTTP server.
func checkURL(u string) error {
	parsed, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	if (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return fmt.Errorf("invalid URL %q: want http://HOST[:PORT]/PATH", u)
	}
	return nil
}

// Stop asks every worker to finish its request in flight, waits for them
// and returns the totals. Later calls return the same totals.
func (r *Run) Stop() Result {
	r.stopOnce.Do(func() {
		close(r.stop)
		r.wg.Wait()
		r.cancel()
		r.final = r.tally.snapshot()
	})
	return r.final
}

// Snapshot returns the totals so far; the run goes on.
func (r *Run) Snapshot() Result {
	return r.tally.snapshot()
}
