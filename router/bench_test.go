package router

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// The benchmarks below measure the router's own cost per request. The
// backend and the client are raw loops over TCP that allocate nothing per
// request, so allocs/op and B/op are the router's (and net/http's under
// it), not the harness's.

// benchSizes are the response bodies measured: a tiny one and a 64 KiB
// one, as in bench/router.
var benchSizes = []struct {
	name, path string
	size       int
}{
	{"12B", "/", 12},
	{"64KiB", "/64k", 64 << 10},
}

// benchBackend is a keep-alive HTTP/1.1 server that answers every request
// with a fixed response chosen by its path: benchSizes' bodies. It reads
// requests without bodies only.
type benchBackend struct {
	ln    net.Listener
	small []byte // whole response for "/"
	large []byte // whole response for "/64k"
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// benchResponse is a complete HTTP/1.1 response with a body of n bytes.
func benchResponse(n int) []byte {
	head := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n)
	return append([]byte(head), bytes.Repeat([]byte("x"), n)...)
}

func newBenchBackend(tb testing.TB) *benchBackend {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &benchBackend{ln: ln, small: benchResponse(12), large: benchResponse(64 << 10), conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.close)
	return s
}

func (s *benchBackend) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

// serve answers the requests of one connection until it is closed.
func (s *benchBackend) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		resp := s.small
		if bytes.HasPrefix(line, []byte("GET /64k ")) {
			resp = s.large
		}
		for { // the header lines, up to the empty one
			line, err = br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				break
			}
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

func (s *benchBackend) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// benchDiscard is a ResponseWriter that keeps the status and body size
// and drops the body.
type benchDiscard struct {
	h      http.Header
	status int
	n      int
}

func (w *benchDiscard) Header() http.Header { return w.h }
func (w *benchDiscard) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *benchDiscard) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
func (w *benchDiscard) Flush() {}

// reset readies w for the next request.
func (w *benchDiscard) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// newBenchRouter returns a router with app "bench" on backend, its access
// lines dropped as paasd's aggregator would take them.
func newBenchRouter(b *testing.B, backend string) *Router {
	b.Helper()
	r := New(Config{Domain: "localhost", AccessLog: func(app, line string) {}})
	r.Set("bench", []Backend{{Name: "web.1", Addr: backend}})
	b.Cleanup(r.Close)
	return r
}

// BenchmarkRouterServeHTTP measures the handler alone: a request for
// bench.localhost through r.ServeHTTP to a real loopback backend, over the
// router's keep-alive pool, into a ResponseWriter that discards. The
// inbound request is built once, as net/http's server would have.
func BenchmarkRouterServeHTTP(b *testing.B) {
	backend := newBenchBackend(b)
	r := newBenchRouter(b, backend.ln.Addr().String())
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			req, err := http.NewRequest("GET", "http://bench.localhost"+sz.path, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.RemoteAddr = "127.0.0.1:40000"
			req.RequestURI = sz.path
			w := &benchDiscard{h: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(sz.size))
			for b.Loop() {
				w.reset()
				r.ServeHTTP(w, req)
				if w.status != http.StatusOK || w.n != sz.size {
					b.Fatalf("got status %d with %d bytes, want 200 with %d", w.status, w.n, sz.size)
				}
			}
		})
	}
}

// BenchmarkRouterServer measures the whole front door as paasd runs it:
// router.NewServer on a loopback listener, one keep-alive client
// connection sending requests one after another, the router forwarding
// each to a real loopback backend.
func BenchmarkRouterServer(b *testing.B) {
	backend := newBenchBackend(b)
	r := newBenchRouter(b, backend.ln.Addr().String())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(ln.Addr().String(), r)
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET " + sz.path + " HTTP/1.1\r\nHost: bench.localhost\r\nUser-Agent: bench\r\n\r\n")
			br := bufio.NewReaderSize(c, 64<<10)
			b.ReportAllocs()
			b.SetBytes(int64(sz.size))
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				status, n, err := benchReadResponse(br)
				if err != nil {
					b.Fatal(err)
				}
				if status != http.StatusOK || n != sz.size {
					b.Fatalf("got status %d with %d bytes, want 200 with %d", status, n, sz.size)
				}
			}
		})
	}
}

// benchReadResponse reads one response with a Content-Length body from
// br without allocating, and returns its status and body size.
func benchReadResponse(br *bufio.Reader) (status, n int, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, 0, fmt.Errorf("bad status line %q", line)
	}
	status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			length, err = benchAtoi(bytes.TrimSpace(value))
			if err != nil {
				return 0, 0, err
			}
		}
	}
	if length < 0 {
		return 0, 0, errors.New("response without Content-Length")
	}
	if _, err := br.Discard(length); err != nil {
		return 0, 0, err
	}
	return status, length, nil
}

// benchAtoi parses a decimal Content-Length without allocating.
func benchAtoi(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 12 {
		return 0, fmt.Errorf("bad Content-Length %q", b)
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad Content-Length %q", b)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// TestBenchHarness checks that the benchmarks' raw backend and client
// agree with net/http, so that a benchmark measures real exchanges.
func TestBenchHarness(t *testing.T) {
	s := newBenchBackend(t)
	for _, sz := range benchSizes {
		res, err := client.Get("http://" + s.ln.Addr().String() + sz.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || len(body) != sz.size {
			t.Fatalf("%s: status %d, %d bytes, %v; want 200 with %d", sz.path, res.StatusCode, len(body), err, sz.size)
		}
		raw := bufio.NewReader(bytes.NewReader(s.small))
		if sz.size != 12 {
			raw = bufio.NewReader(bytes.NewReader(s.large))
		}
		if status, n, err := benchReadResponse(raw); err != nil || status != 200 || n != sz.size {
			t.Fatalf("benchReadResponse: %d, %d, %v", status, n, err)
		}
	}
	if _, err := benchAtoi([]byte("12x")); err == nil {
		t.Fatal("benchAtoi accepted 12x")
	}
	if n, err := benchAtoi([]byte(strconv.Itoa(65536))); err != nil || n != 65536 {
		t.Fatalf("benchAtoi(65536) = %d, %v", n, err)
	}
}
