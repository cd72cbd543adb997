package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFrontPaths checks which path serves what: common requests the fast
// one, the first unusual request moves its connection to the general
// one, and both answer alike.
func TestFrontPaths(t *testing.T) {
	r, srv, logs := setup(t, Config{})
	var a recorder
	r.Set("a", []Backend{a.start(t, "web.1")})
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	roundTrip := func(raw string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "web.1" {
			t.Errorf("body %q", b)
		}
		return res
	}
	for i := range 3 {
		res := roundTrip(fmt.Sprintf("GET /fast/%d HTTP/1.1\r\nHost: a.localhost\r\n\r\n", i))
		if res.StatusCode != 200 || res.Header.Get("X-Request-Id") == "" || res.Header.Get("X-Private") != "" || res.Header.Get("Keep-Alive") != "" {
			t.Errorf("fast response %d %v", res.StatusCode, res.Header)
		}
	}
	res := roundTrip("POST /fast/body HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 5\r\n\r\nhello")
	if res.StatusCode != 200 {
		t.Errorf("POST status %d", res.StatusCode)
	}
	if n := srv.front.FastRequests(); n != 4 {
		t.Errorf("fast path served %d requests, want 4", n)
	}
	roundTrip("POST /general HTTP/1.1\r\nHost: a.localhost\r\nConnection: keep-alive, X-Strip\r\nContent-Length: 5\r\n\r\nworld")
	roundTrip("GET /general/after HTTP/1.1\r\nHost: a.localhost\r\n\r\n")
	if n := srv.front.FastRequests(); n != 4 {
		t.Errorf("fast path served %d requests, want 4", n)
	}
	got := a.all()
	if len(got) != 6 {
		t.Fatalf("backend got %d requests", len(got))
	}
	for _, g := range got {
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Host", "X-Request-Id", "X-Request-Start", "Via"} {
			if g.header.Get(k) == "" {
				t.Errorf("%s %s: no %s", g.method, g.path, k)
			}
		}
	}
	if got[3].body != "hello" || got[4].body != "world" {
		t.Errorf("bodies %q %q", got[3].body, got[4].body)
	}
	lines, _ := logs.wait(t, 6)
	for i, l := range lines {
		if f := fields(l); f["status"] != "200" || f["dyno"] != "web.1" || f["request_id"] != got[i].id || f["path"] != got[i].path {
			t.Errorf("line %q for request %v", l, got[i])
		}
	}
}

// TestFrontResponses passes the framings an instance may use.
func TestFrontResponses(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	b := rawBackend(t, map[string]string{
		"/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
		"/close":   "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close",
		"/http10":  "HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nold!",
		"/info":    "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"/both":    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		"/badlen":  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"/conn":    "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: secret\r\nContent-Length: 2\r\n\r\nok",
		"/nolen":   "HTTP/1.1 204 No Content\r\n\r\n",
	})
	r.Set("raw", []Backend{b})
	for path, want := range map[string]struct {
		status int
		body   string
	}{
		"/chunked": {200, "hello world"},
		"/close":   {200, "until close"},
		"/http10":  {200, "old!"},
		"/info":    {200, "ok"},
		"/both":    {200, "hi"},
		"/badlen":  {502, ""},
		"/conn":    {200, "ok"},
		"/nolen":   {204, ""},
	} {
		res, body := get(t, srv, "raw.localhost", path, nil)
		if res.StatusCode != want.status || (want.body != "" && string(body) != want.body) {
			t.Errorf("%s: %d %q, want %d %q", path, res.StatusCode, body, want.status, want.body)
		}
		if res.Header.Get("X-Hop") != "" {
			t.Errorf("%s: Connection-named header passed", path)
		}
		if path == "/chunked" && res.Trailer.Get("X-Trailer") != "t" {
			t.Errorf("trailer %v", res.Trailer)
		}
	}
	if srv.front.FastRequests() == 0 {
		t.Error("no request took the fast path")
	}
}

// rawBackend answers each path with a fixed raw response and closes the
// connection.
func rawBackend(t *testing.T, responses map[string]string) Backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				raw, ok := responses[req.URL.Path]
				if !ok {
					raw = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
				}
				io.WriteString(c, raw)
			}()
		}
	}()
	return Backend{Name: "web.1", Addr: ln.Addr().String()}
}

// TestFrontStaleUpstream: an instance that closes kept-alive connections
// between requests costs nothing but a new connection.
func TestFrontStaleUpstream(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	b := rawBackend(t, map[string]string{"/": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"})
	r.Set("stale", []Backend{b})
	for i := range 5 {
		if res, body := get(t, srv, "stale.localhost", "/", nil); res.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("request %d: %d %q", i, res.StatusCode, body)
		}
	}
	if srv.front.FastRequests() != 5 {
		t.Errorf("fast path served %d", srv.front.FastRequests())
	}
}

// TestFrontFailedBodyCloses: when an instance fails a request with a body,
// the client's connection is closed after the error page, since some of
// the body may still be on the way and must not be read as a request.
func TestFrontFailedBodyCloses(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil || len(line) == 2 {
						break
					}
				}
				c.(*net.TCPConn).SetLinger(0)
				c.Close() // a reset, body unread, no response
			}()
		}
	}()
	r.Set("rude", []Backend{{Name: "web.1", Addr: ln.Addr().String()}})
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	body := strings.Repeat("x", 1<<20)
	go io.WriteString(c, "POST /up HTTP/1.1\r\nHost: rude.localhost\r\nContent-Length: "+fmt.Sprint(len(body))+"\r\n\r\n"+body)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 502 || !res.Close {
		t.Errorf("status %d, close %v; want 502 and the connection closed", res.StatusCode, res.Close)
	}
}
