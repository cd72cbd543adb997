package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// heldBackend answers GET /slow after hold and anything else at once,
// with the path as the body.
func heldBackend(t *testing.T, hold time.Duration) Backend {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			select {
			case <-time.After(hold):
			case <-req.Context().Done():
			}
		}
		io.WriteString(w, req.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return Backend{Name: "web.1", Addr: srv.Listener.Addr().String()}
}

// TestPipelinedWhileForwarding: a request that arrives while the one
// before it is still with the instance is served as soon as that one is
// answered, not after the idle timeout: the fast path waits for the
// client's socket without a read in between, and a request that came
// during a forward must not go unnoticed.
func TestPipelinedWhileForwarding(t *testing.T) {
	r := New(Config{Domain: "localhost"})
	t.Cleanup(r.Close)
	r.Set("pipe", []Backend{heldBackend(t, 300*time.Millisecond)})
	srv := startFront(t, r, ServerLimits{IdleTimeout: time.Minute, HeaderTimeout: time.Minute})

	c := dialTCP(t, srv.Listener.Addr().String())
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	// A first exchange, so that the connection waits between requests
	// as it does in a keep-alive session.
	io.WriteString(c, "GET /first HTTP/1.1\r\nHost: pipe.localhost\r\n\r\n")
	if res := readResponse(t, br); res.body != "/first" {
		t.Fatalf("first response %d %q", res.status, res.body)
	}
	start := time.Now()
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: pipe.localhost\r\n\r\n")
	time.Sleep(100 * time.Millisecond) // the slow request is with the instance
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: pipe.localhost\r\n\r\n")
	if res := readResponse(t, br); res.body != "/slow" {
		t.Fatalf("slow response %d %q", res.status, res.body)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the request sent during a forward got no answer within 3s: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if string(body) != "/next" {
		t.Fatalf("next response %d %q", res.StatusCode, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("both answers took %v", d)
	}
	if n := srv.front.FastRequests(); n != 3 {
		t.Errorf("fast path served %d requests, want 3", n)
	}
}

// TestCloseCutsRequestInFlight: Close returns at once and the client of a
// request the instance has not answered sees its connection closed at
// once, not when the instance answers.
func TestCloseCutsRequestInFlight(t *testing.T) {
	r := New(Config{Domain: "localhost"})
	t.Cleanup(r.Close)
	r.Set("held", []Backend{heldBackend(t, 5*time.Second)})
	srv := startFront(t, r, ServerLimits{})

	c := dialTCP(t, srv.Listener.Addr().String())
	defer c.Close()
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /first HTTP/1.1\r\nHost: held.localhost\r\n\r\n")
	readResponse(t, br)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: held.localhost\r\n\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for srv.front.FastRequests() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the request did not reach the fast path")
		}
		time.Sleep(5 * time.Millisecond)
	}

	start := time.Now()
	closed := make(chan struct{})
	go func() {
		srv.front.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close waits for the request in flight")
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := br.ReadByte()
	if err == nil || !closedErr(err) {
		t.Fatalf("read after Close: %v, want the connection closed", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the client saw its connection closed after %v", d)
	}
}

// TestStaleUpstreamForBody: a request with a body, which is not sent
// twice, does not go to a kept-alive connection the instance closed
// while it sat idle for longer than staleCheckAfter: the router looks
// before it uses one.
func TestStaleUpstreamForBody(t *testing.T) {
	r := New(Config{Domain: "localhost"})
	t.Cleanup(r.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	closedIdle := make(chan struct{}, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				// Then it closes the connection without having said
				// so, as an instance with a short keep-alive does.
				c.Close()
				closedIdle <- struct{}{}
			}()
		}
	}()
	r.Set("stale", []Backend{{Name: "web.1", Addr: ln.Addr().String()}})
	srv := startFront(t, r, ServerLimits{})

	post := func() int {
		t.Helper()
		c := dialTCP(t, srv.Listener.Addr().String())
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "POST /up HTTP/1.1\r\nHost: stale.localhost\r\nContent-Length: 5\r\n\r\nhello")
		return readResponse(t, bufio.NewReader(c)).status
	}
	if s := post(); s != 200 {
		t.Fatalf("first POST: %d", s)
	}
	<-closedIdle
	time.Sleep(staleCheckAfter + 100*time.Millisecond) // idle long enough to be checked
	if s := post(); s != 200 {
		t.Fatalf("POST after the instance closed its idle connection: %d, want 200", s)
	}
}

// TestHeadInPieces: a head that arrives in pieces, a little at a time,
// is served on the fast path once it is whole, within the header
// timeout.
func TestHeadInPieces(t *testing.T) {
	r := New(Config{Domain: "localhost"})
	t.Cleanup(r.Close)
	r.Set("bits", []Backend{heldBackend(t, 0)})
	srv := startFront(t, r, ServerLimits{HeaderTimeout: 5 * time.Second})
	c := dialTCP(t, srv.Listener.Addr().String())
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := range 2 {
		for _, piece := range []string{"GET /a", " HTTP/1.1\r\n", "Host: bits.local", "host\r\n", "\r\n"} {
			if _, err := io.WriteString(c, piece); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if res := readResponse(t, br); res.status != 200 || res.body != "/a" {
			t.Fatalf("request %d: %d %q", i, res.status, res.body)
		}
	}
	if n := srv.front.FastRequests(); n != 2 {
		t.Errorf("fast path served %d requests, want 2", n)
	}
}

// TestShutdownWaitsForHeadInPieces: a connection that has sent part of a
// request head is not idle: Shutdown lets the head arrive and the
// request be served, with Connection: close, as it does for a request
// already with the instance.
func TestShutdownWaitsForHeadInPieces(t *testing.T) {
	r := New(Config{Domain: "localhost"})
	t.Cleanup(r.Close)
	r.Set("bits", []Backend{heldBackend(t, 0)})
	srv := startFront(t, r, ServerLimits{})
	f := srv.front
	c := dialTCP(t, srv.Listener.Addr().String())
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: bits.localhost\r\n\r\n")
	if res := readResponse(t, br); res.status != 200 {
		t.Fatalf("first request: %d", res.status)
	}
	idle := func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for fc := range f.conns {
			return fc.idle.Load()
		}
		return false
	}
	deadline := time.Now().Add(5 * time.Second)
	for !idle() {
		if time.Now().After(deadline) {
			t.Fatal("the connection is not idle between requests")
		}
		time.Sleep(5 * time.Millisecond)
	}
	io.WriteString(c, "GET /b HTTP/1.1\r\nHost: bi")
	for idle() {
		if time.Now().After(deadline) {
			t.Fatal("a connection with part of a head read still counts as idle")
		}
		time.Sleep(5 * time.Millisecond)
	}
	shut := make(chan error, 1)
	go func() { shut <- f.Shutdown(t.Context()) }()
	time.Sleep(50 * time.Millisecond) // Shutdown looks at the connections every 20ms
	io.WriteString(c, "ts.localhost\r\n\r\n")
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the request whose head came in pieces during Shutdown: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(body) != "/b" || !res.Close {
		t.Errorf("got %d %q close=%v, want 200 \"/b\" and the connection closed", res.StatusCode, body, res.Close)
	}
	if err := waitErr(t, shut, "Shutdown"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestSendAfterStaleDeadline: when the read deadline kept from before
// has passed by the time the request is to go out (the goroutine was
// held up for longer than the deadline's slack), the request still goes
// out and its answer is read, rather than waiting for an answer to a
// request never sent.
func TestSendAfterStaleDeadline(t *testing.T) {
	b := heldBackend(t, 0)
	nc, err := net.Dial("tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	uc := newUpConn(nc)
	if uc.raw == nil {
		t.Fatal("no socket under a TCP connection")
	}
	start := time.Now().Add(-80 * time.Millisecond) // the request began a while ago
	uc.rdl.set(nc, start, start.Add(60*time.Millisecond), 0)
	fc := &frontConn{}
	req := []byte("GET /stale HTTP/1.1\r\nHost: x\r\n\r\n")
	began := time.Now()
	if err := fc.awaitResponse(uc, start, start.Add(2*time.Second), req); err != nil {
		t.Fatalf("awaiting the answer: %v", err)
	}
	var uh upHead
	if err := readUpHead(uc.br, &uh); err != nil || uh.status != 200 {
		t.Fatalf("answer: %d %v", uh.status, err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("the answer took %v", d)
	}
}
