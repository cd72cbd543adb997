package router

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowBackend answers each request only once released.
type slowBackend struct {
	Backend
	entered  chan struct{} // receives a value when a request arrives
	release  chan struct{} // closed to let requests finish
	finished atomic.Int64  // requests answered
	once     sync.Once
}

func newSlowBackend(t *testing.T, name string) *slowBackend {
	t.Helper()
	s := &slowBackend{entered: make(chan struct{}, 16), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.entered <- struct{}{}
		<-s.release
		s.finished.Add(1)
		fmt.Fprint(w, "done")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(s.let)
	s.Backend = Backend{Name: name, Addr: srv.Listener.Addr().String()}
	return s
}

// let releases every request, once.
func (s *slowBackend) let() { s.once.Do(func() { close(s.release) }) }

// waitEntered waits for a request to reach the backend.
func (s *slowBackend) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-s.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("request did not reach the backend")
	}
}

// result is the outcome of a request sent in the background.
type result struct {
	status int
	body   string
	err    error
}

// getAsync sends a request to the router in the background.
func getAsync(srv *frontServer, host string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Host = host
		res, err := client.Do(req)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		ch <- result{status: res.StatusCode, body: string(body), err: err}
	}()
	return ch
}

// drainAsync runs Drain in the background.
func drainAsync(ctx context.Context, r *Router, addrs ...string) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- r.Drain(ctx, addrs) }()
	return ch
}

// notDone fails the test if ch delivers within a short window: the
// operation behind it must still be waiting.
func notDone(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s returned early: %v", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

// waitErr receives from ch with a deadline.
func waitErr(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return", what)
		return nil
	}
}

func TestDrainWaitsForSlowRequest(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	slow := newSlowBackend(t, "web.1")
	fresh, _ := backend(t, "web.2")
	r.Set("app", []Backend{slow.Backend})

	inflight := getAsync(srv, "app.localhost")
	slow.waitEntered(t)
	if n := r.InFlight(slow.Addr); n != 1 {
		t.Fatalf("InFlight = %d, want 1", n)
	}
	r.Set("app", []Backend{fresh})
	// New requests go to the new backend while the old one drains.
	if res, body := get(t, srv, "app.localhost", "/", nil); res.StatusCode != 200 || decode(t, body).Name != "web.2" {
		t.Fatalf("after Set: %d %s", res.StatusCode, body)
	}

	drained := drainAsync(t.Context(), r, slow.Addr, fresh.Addr+"-unknown")
	notDone(t, drained, "Drain with a request in flight")
	slow.let()
	released := time.Now()
	if err := waitErr(t, drained, "Drain"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(released); took > time.Second {
		t.Errorf("Drain returned %v after the request ended", took)
	}
	if slow.finished.Load() != 1 {
		t.Error("Drain returned before the backend answered")
	}
	if n := r.InFlight(slow.Addr); n != 0 {
		t.Errorf("InFlight after drain = %d", n)
	}
	if res := <-inflight; res.err != nil || res.status != 200 || res.body != "done" {
		t.Errorf("drained request: %+v", res)
	}
}

func TestDrainNothingInFlight(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	a, _ := backend(t, "web.1")
	b, _ := backend(t, "web.2")
	r.Set("app", []Backend{a})
	if res, _ := get(t, srv, "app.localhost", "/", nil); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	r.Set("app", []Backend{b})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := r.Drain(ctx, []string{a.Addr, deadAddr(t)}); err != nil {
		t.Fatal(err)
	}
	if err := r.Drain(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("Drain took %v with nothing in flight", took)
	}
}

func TestDrainDeadline(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	slow := newSlowBackend(t, "web.1")
	r.Set("app", []Backend{slow.Backend})
	inflight := getAsync(srv, "app.localhost")
	slow.waitEntered(t)
	r.Set("app", nil)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := r.Drain(ctx, []string{slow.Addr}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain = %v, want deadline exceeded", err)
	}
	if n := r.InFlight(slow.Addr); n != 1 {
		t.Errorf("InFlight = %d, want 1", n)
	}
	// The request was not cut; a later drain still completes.
	slow.let()
	if err := waitErr(t, drainAsync(t.Context(), r, slow.Addr), "second Drain"); err != nil {
		t.Fatal(err)
	}
	if res := <-inflight; res.status != 200 {
		t.Errorf("request: %+v", res)
	}
}

func TestDrainStillRouted(t *testing.T) {
	r, _, _ := setup(t, Config{})
	a, _ := backend(t, "web.1")
	r.Set("app", []Backend{a})
	err := r.Drain(t.Context(), []string{a.Addr})
	if err == nil || !strings.Contains(err.Error(), "still routed") {
		t.Fatalf("Drain of a routed address = %v", err)
	}
}

func TestSetKeepsInFlightCount(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	slow := newSlowBackend(t, "web.1")
	other, _ := backend(t, "web.2")
	r.Set("app", []Backend{slow.Backend})
	inflight := getAsync(srv, "app.localhost")
	slow.waitEntered(t)

	r.Set("app", []Backend{slow.Backend, other}) // keeps the address
	r.Set("app", []Backend{other, slow.Backend})
	if n := r.InFlight(slow.Addr); n != 1 {
		t.Fatalf("InFlight after a Set keeping the address = %d", n)
	}
	r.Set("app", []Backend{other})
	drained := drainAsync(t.Context(), r, slow.Addr)
	notDone(t, drained, "Drain")
	slow.let()
	if err := waitErr(t, drained, "Drain"); err != nil {
		t.Fatal(err)
	}
	if slow.finished.Load() != 1 {
		t.Error("Drain returned before the backend answered")
	}
	<-inflight
}

// echoServer is an instance that upgrades to a line echo protocol.
func echoServer(t *testing.T) Backend {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw)
	}))
	t.Cleanup(srv.Close)
	return Backend{Name: "web.1", Addr: srv.Listener.Addr().String()}
}

func TestDrainUpgradedConn(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	echo := echoServer(t)
	r.Set("ws", []Backend{echo})

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: ws.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	echoLine := func(msg string) {
		t.Helper()
		fmt.Fprint(conn, msg)
		if got, err := br.ReadString('\n'); got != msg || err != nil {
			t.Fatalf("echo %q: %q %v", msg, got, err)
		}
	}
	echoLine("one\n")
	if n := r.InFlight(echo.Addr); n != 1 {
		t.Fatalf("InFlight of an upgraded conn = %d", n)
	}

	r.Set("ws", nil)
	drained := drainAsync(t.Context(), r, echo.Addr)
	echoLine("still open\n")
	notDone(t, drained, "Drain with an upgraded conn open")
	conn.Close()
	if err := waitErr(t, drained, "Drain"); err != nil {
		t.Fatal(err)
	}
	if n := r.InFlight(echo.Addr); n != 0 {
		t.Errorf("InFlight after close = %d", n)
	}
}

// connWatcher is an instance that counts its open connections.
type connWatcher struct {
	Backend
	open atomic.Int64
}

func newConnWatcher(t *testing.T, name string) *connWatcher {
	t.Helper()
	w := &connWatcher{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(rw, name)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			w.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			w.open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	w.Backend = Backend{Name: name, Addr: srv.Listener.Addr().String()}
	return w
}

// waitClosed polls until the instance has no open connection.
func (w *connWatcher) waitClosed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for w.open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s still has %d open connections", w.Name, w.open.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDrainClosesIdleConns(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	old := newConnWatcher(t, "web.1")
	kept := newConnWatcher(t, "web.2")
	r.Set("app", []Backend{old.Backend, kept.Backend})
	for range 4 {
		if res, _ := get(t, srv, "app.localhost", "/", nil); res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	if old.open.Load() == 0 || kept.open.Load() == 0 {
		t.Fatalf("no keep-alive connections: %d %d", old.open.Load(), kept.open.Load())
	}
	r.Set("app", []Backend{kept.Backend})
	if err := r.Drain(t.Context(), []string{old.Addr}); err != nil {
		t.Fatal(err)
	}
	old.waitClosed(t)
	if kept.open.Load() == 0 {
		t.Error("the kept backend lost its keep-alive connections")
	}

	r.Remove("app")
	kept.waitClosed(t)
}

func TestInFlightSettlesAfterRetry(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	dead := deadAddr(t)
	live, _ := backend(t, "web.2")
	r.Set("app", []Backend{{Name: "web.1", Addr: dead}, live})
	for range 4 {
		if res, _ := get(t, srv, "app.localhost", "/", nil); res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	if a, b := r.InFlight(dead), r.InFlight(live.Addr); a != 0 || b != 0 {
		t.Errorf("InFlight after requests: %d %d", a, b)
	}
}

// A request that read the route table just before a Set must not count
// itself against an endpoint the Set retired: a Drain that follows the Set
// would not wait for it. It looks again and finds the new backend.
func TestAcquireAfterRetire(t *testing.T) {
	r := New(Config{Domain: "localhost"})
	defer r.Close()
	a := Backend{Name: "web.1", Addr: deadAddr(t)}
	b := Backend{Name: "web.2", Addr: deadAddr(t)}
	r.Set("app", []Backend{a})
	stale := r.lookup("app").pick(0)

	r.Set("app", []Backend{b})
	if r.acquire(stale.ep) {
		t.Fatal("acquired a retired endpoint")
	}
	if n := r.InFlight(a.Addr); n != 0 {
		t.Fatalf("InFlight of the retired endpoint = %d", n)
	}
	_, tg := r.choose("app.localhost", r.lookup("app"), 0)
	if tg == nil || tg.Addr != b.Addr {
		t.Fatalf("chose %+v", tg)
	}
	if n := r.InFlight(b.Addr); n != 1 {
		t.Fatalf("InFlight of the chosen endpoint = %d", n)
	}

	// A retired endpoint with a request in flight comes back with its count
	// when a Set names its address again.
	r.Set("app", []Backend{a})
	if n := r.InFlight(b.Addr); n != 1 {
		t.Fatalf("InFlight of the retired, busy endpoint = %d", n)
	}
	r.Set("app", []Backend{a, b})
	if err := r.Drain(t.Context(), []string{b.Addr}); err == nil {
		t.Fatal("Drain of an address routed again succeeded")
	}
	r.Set("app", []Backend{a})
	drained := drainAsync(t.Context(), r, b.Addr)
	notDone(t, drained, "Drain")
	r.release(tg.ep)
	if err := waitErr(t, drained, "Drain"); err != nil {
		t.Fatal(err)
	}
}
