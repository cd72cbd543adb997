package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"sync/atomic"
	"time"
)

const (
	// bodyLimit is how much of a body is searched for a release marker;
	// the rest is read and discarded so the connection can be reused.
	bodyLimit = 64 << 10
	// errorPause keeps a worker from spinning while nothing accepts
	// connections (the load would otherwise starve the machine).
	errorPause = 10 * time.Millisecond
	// retriedText names a request the server got on a kept-alive
	// connection and closed without an answer; Go's transport resends such
	// GET requests on its own, so without this count the drop would be
	// invisible.
	retriedText = "connection closed after the request was sent (resent by the client)"
)

// worker sends requests one after another over its own connection.
type worker struct {
	cfg    Config
	client *http.Client
	tally  *tally
}

func newWorker(cfg Config, t *tally) *worker {
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &worker{
		cfg: cfg,
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			// A redirect is an answer: count it, do not follow it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		tally: t,
	}
}

// loop sends requests until stop is closed or ctx ends.
func (w *worker) loop(ctx context.Context, stop <-chan struct{}) {
	defer w.client.CloseIdleConnections()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		ok, fatal := w.request(ctx)
		if fatal {
			return
		}
		if !ok {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(errorPause):
			}
		}
	}
}

// request sends one GET and counts its outcome. ok is false after a
// transport error; fatal is true when no request can be built at all.
func (w *worker) request(ctx context.Context) (ok, fatal bool) {
	var tries attempts
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, tries.trace()), http.MethodGet, w.cfg.URL, nil)
	if err != nil {
		w.tally.failure("building request: " + err.Error())
		return false, true
	}
	if w.cfg.Host != "" {
		req.Host = w.cfg.Host
	}
	resp, err := w.client.Do(req)
	if ctx.Err() != nil {
		// Cut short by the caller: not an outcome of the server.
		if err == nil {
			resp.Body.Close()
		}
		return true, false
	}
	for range tries.resent.Load() {
		w.tally.failure(retriedText)
	}
	if err != nil {
		w.tally.failure(errorText(err))
		return false, false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, bodyLimit))
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	if ctx.Err() != nil {
		return true, false
	}
	if err != nil {
		w.tally.failure("reading body: " + errorText(err))
		return false, false
	}
	w.tally.response(resp.StatusCode, body, time.Now())
	return true, false
}

// attempts notices when the transport resends a request that it had
// already written on another connection.
type attempts struct {
	conns  atomic.Int32
	wrote  atomic.Bool
	resent atomic.Int32
}

func (a *attempts) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			if a.conns.Add(1) > 1 && a.wrote.Swap(false) {
				a.resent.Add(1)
			}
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			a.wrote.Store(info.Err == nil)
		},
	}
}

// errorText is err without the parts that differ on every request (the
// URL, ephemeral ports), so that equal causes count together.
func errorText(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var operr *net.OpError
	if errors.As(err, &operr) {
		inner := operr.Err
		var serr *os.SyscallError
		if errors.As(inner, &serr) {
			inner = serr.Err
		}
		return operr.Op + ": " + inner.Error()
	}
	return err.Error()
}
