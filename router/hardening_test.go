package router

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// recorder is a backend that records every request it receives.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, host, id string
	body                   string
	header                 http.Header
}

func (rec *recorder) start(t *testing.T, name string) Backend {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{req.Method, req.URL.RequestURI(), req.Host, req.Header.Get("X-Request-Id"), string(b), req.Header.Clone()})
		rec.mu.Unlock()
		w.Header().Set("Connection", "X-Private")
		w.Header().Set("X-Private", "backend secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		fmt.Fprint(w, name)
	}))
	t.Cleanup(srv.Close)
	return Backend{Name: name, Addr: srv.Listener.Addr().String()}
}

func (rec *recorder) all() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

var logField = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

// fields parses an access log line.
func fields(line string) map[string]string {
	m := map[string]string{}
	for _, f := range logField.FindAllStringSubmatch(line, -1) {
		m[f[1]] = strings.Trim(f[2], `"`)
	}
	return m
}

// smuggle is a request for app b that rides inside a hostile request to
// app a: no instance may ever receive it.
const smuggle = "GET /smuggled HTTP/1.1\r\nHost: b.localhost\r\n\r\n"

// hostileCase is one input of the routing and smuggling matrix.
type hostileCase struct {
	name string
	raw  string // sent at once
	want []int  // statuses of the responses, in order
	// open: the connection stays in step, a request sent after the
	// responses is answered; else the router closes it after them.
	open bool
	// reach lists the requests ("app METHOD path body") instances get;
	// none when empty.
	reach []string
}

// hostileCases are the routing and smuggling inputs every listener is
// checked with.
func hostileCases() []hostileCase {
	inCL := "0\r\n\r\n" + smuggle // a chunked end, then a request
	return []hostileCase{
		// Framing: whenever a request's length could be read two ways,
		// it is refused and its connection closed.
		{name: "CL and TE", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: " + fmt.Sprint(len(inCL)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + inCL, want: []int{400}},
		{name: "TE and CL", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n" + smuggle, want: []int{400}},
		{name: "TE in HTTP/1.0", raw: "POST /x HTTP/1.0\r\nHost: a.localhost\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggle, want: []int{400}},
		{name: "TE and CL in HTTP/1.0", raw: "POST /x HTTP/1.0\r\nHost: a.localhost\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" + smuggle, want: []int{400}},
		{name: "TE list", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggle, want: []int{501}},
		{name: "TE identity", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: identity\r\n\r\n" + smuggle, want: []int{501}},
		{name: "TE unknown and CL", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\nabcd" + smuggle, want: []int{501}},
		{name: "two TE fields", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle, want: []int{501}},
		{name: "TE folded", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n , identity\r\n\r\n0\r\n\r\n" + smuggle, want: []int{501}},
		{name: "TE hidden in a fold", raw: "POST /fold HTTP/1.1\r\nHost: a.localhost\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc" + smuggle,
			want: []int{200}, reach: []string{"a POST /fold abc"}},
		{name: "chunked", raw: "POST /chunked HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + smuggle,
			want: []int{200}, reach: []string{"a POST /chunked abc"}},
		{name: "two lengths", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd" + smuggle, want: []int{400}},
		{name: "same length twice", raw: "POST /len2 HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
			want: []int{200}, open: true, reach: []string{"a POST /len2 abc"}},
		{name: "length list", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 4, 40\r\n\r\nabcd" + smuggle, want: []int{400}},
		{name: "negative length", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: -1\r\n\r\n" + smuggle, want: []int{400}},
		{name: "signed length", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: +3\r\n\r\nabc" + smuggle, want: []int{400}},
		{name: "overflowing length", raw: "POST /x HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 99999999999999999999\r\n\r\n" + smuggle, want: []int{400}},
		{name: "chunk size not hex", raw: "POST /partial HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" + smuggle, want: []int{400}},
		{name: "chunk size overflowing", raw: "POST /partial HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n" + smuggle, want: []int{400}},
		{name: "chunk size negative", raw: "POST /partial HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n" + smuggle, want: []int{400}},
		{name: "chunk size with bare LF", raw: "POST /partial HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n" + smuggle, want: []int{400}},

		// Header lines net/http refuses.
		{name: "space in a name", raw: "GET /x HTTP/1.1\r\nHost: a.localhost\r\nX A: 1\r\n\r\n" + smuggle, want: []int{400}},
		{name: "space before colon", raw: "GET /x HTTP/1.1\r\nHost : b.localhost\r\nHost: a.localhost\r\n\r\n" + smuggle, want: []int{400}},
		{name: "NUL in a name", raw: "GET /x HTTP/1.1\r\nHost: a.localhost\r\nX\x00A: 1\r\n\r\n" + smuggle, want: []int{400}},
		{name: "CR in a name", raw: "GET /x HTTP/1.1\r\nHost: a.localhost\r\nX\rA: 1\r\n\r\n" + smuggle, want: []int{400}},
		{name: "NUL in a value", raw: "GET /x HTTP/1.1\r\nHost: a.localhost\r\nX-A: 1\x002\r\n\r\n" + smuggle, want: []int{400}},
		{name: "bare CR in the request line", raw: "GET /x HTTP/1.1\rHost: b.localhost\r\nHost: a.localhost\r\n\r\n" + smuggle, want: []int{400}},
		{name: "bare LF lines", raw: "GET /bare HTTP/1.1\nHost: a.localhost\nX-A: 1\n\n", want: []int{200}, open: true, reach: []string{"a GET /bare "}},

		// Hosts.
		{name: "two hosts", raw: "GET /x HTTP/1.1\r\nHost: a.localhost\r\nHost: b.localhost\r\n\r\n" + smuggle, want: []int{400}},
		{name: "host with userinfo", raw: "GET /x HTTP/1.1\r\nHost: b.localhost@a.localhost\r\n\r\n" + smuggle, want: []int{400}},
		{name: "host with a path", raw: "GET /x HTTP/1.1\r\nHost: a.localhost/../b.localhost\r\n\r\n" + smuggle, want: []int{400}},
		{name: "non-ASCII host", raw: "GET /x HTTP/1.1\r\nHost: \xc3\xa4.localhost\r\n\r\n" + smuggle, want: []int{400}},
		{name: "overlong host", raw: "GET /x HTTP/1.1\r\nHost: " + strings.Repeat("a", 300) + ".localhost\r\n\r\n", want: []int{404}, open: true},
		{name: "no host", raw: "GET /x HTTP/1.1\r\n\r\n" + smuggle, want: []int{400}},

		// Targets: an absolute URI must name the Host's app; paths go
		// to the app as they are.
		{name: "absolute URI of another app", raw: "GET http://b.localhost/abs HTTP/1.1\r\nHost: a.localhost\r\n\r\n" + smuggle, want: []int{400}},
		{name: "absolute URI with userinfo", raw: "GET http://a.localhost@b.localhost/abs HTTP/1.1\r\nHost: a.localhost\r\n\r\n" + smuggle, want: []int{400}},
		{name: "absolute URI of the host's app", raw: "GET http://B.localhost:80/abs HTTP/1.1\r\nHost: b.localhost\r\n\r\n",
			want: []int{200}, open: true, reach: []string{"b GET /abs "}},
		{name: "CONNECT", raw: "CONNECT b.localhost:80 HTTP/1.1\r\nHost: b.localhost:80\r\n\r\n" + smuggle, want: []int{405}},
		{name: "asterisk", raw: "OPTIONS * HTTP/1.1\r\nHost: a.localhost\r\n\r\n", want: []int{200}, open: true},
		{name: "dot segments", raw: "GET /../b/x HTTP/1.1\r\nHost: a.localhost\r\n\r\n", want: []int{200}, open: true, reach: []string{"a GET /../b/x "}},
		{name: "encoded dot segments", raw: "GET /a/%2e%2e/%2E%2e/b HTTP/1.1\r\nHost: a.localhost\r\n\r\n", want: []int{200}, open: true, reach: []string{"a GET /a/%2e%2e/%2E%2e/b "}},

		// Ordinary keep-alive traffic stays in step.
		{name: "HTTP/1.0", raw: "GET /old HTTP/1.0\r\nHost: a.localhost\r\n\r\n" + smuggle, want: []int{200}, reach: []string{"a GET /old "}},
		{name: "HTTP/1.0 keep-alive", raw: "POST /old HTTP/1.0\r\nHost: a.localhost\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi",
			want: []int{200}, open: true, reach: []string{"a POST /old hi"}},
		{name: "pipelined", raw: "GET /one HTTP/1.1\r\nHost: a.localhost\r\n\r\nPOST /two HTTP/1.1\r\nHost: b.localhost\r\nContent-Length: 2\r\n\r\nhi",
			want: []int{200, 200}, open: true, reach: []string{"a GET /one ", "b POST /two hi"}},
	}
}

// TestHostileRouting sends each hostile input on a new connection to
// the plain listener (as its first request, and after the general path
// took the connection over) and to the TLS listener. Each gets the
// statuses it should, leaves the connection open and in step or closes
// it, reaches exactly the instances it should, and leaks nothing of
// them. At the end every request an instance received is one the router
// routed to that instance's app and logged with the same request id and
// path: nothing rode along inside another request.
func TestHostileRouting(t *testing.T) {
	r, srv, logs := setup(t, Config{})
	var a, b recorder
	ba, bb := a.start(t, "a-web.1"), b.start(t, "b-web.1")
	r.Set("a", []Backend{ba})
	r.Set("b", []Backend{bb})
	plain, secure := srv.Listener.Addr().String(), startTLS(t, r)

	modes := []struct {
		name string
		dial func(t *testing.T) net.Conn
		lead string // a request sent first, answered 200
	}{
		{"first", func(t *testing.T) net.Conn { return dialTCP(t, plain) }, ""},
		// A Connection naming a header moves the connection to the
		// general path.
		{"general", func(t *testing.T) net.Conn { return dialTCP(t, plain) }, "GET /lead HTTP/1.1\r\nHost: a.localhost\r\nConnection: keep-alive, X-Lead\r\n\r\n"},
		{"tls", func(t *testing.T) net.Conn { return dialTLS(t, secure) }, ""},
	}
	for _, m := range modes {
		for _, c := range hostileCases() {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				beforeA, beforeB := len(a.all()), len(b.all())
				conn := m.dial(t)
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(conn)
				if m.lead != "" {
					io.WriteString(conn, m.lead)
					if res := readResponse(t, br); res.status != 200 {
						t.Fatalf("lead request: %d", res.status)
					}
				}
				if _, err := io.WriteString(conn, c.raw); err != nil {
					t.Fatal(err)
				}
				for i, want := range c.want {
					res := readResponse(t, br)
					if res.status != want {
						t.Errorf("response %d: status %d, want %d (%q)", i, res.status, want, res.body)
					}
					for _, addr := range []string{ba.Addr, bb.Addr} {
						if strings.Contains(res.body, addr) || strings.Contains(res.header, addr) {
							t.Errorf("response %d names an instance: %q %q", i, res.header, res.body)
						}
					}
				}
				if c.open {
					io.WriteString(conn, "GET /probe HTTP/1.1\r\nHost: a.localhost\r\n\r\n")
					if res := readResponse(t, br); res.status != 200 || res.body != "a-web.1" {
						t.Errorf("a request after the responses: %d %q, want 200 from a", res.status, res.body)
					}
				} else if n, err := br.Read(make([]byte, 1)); n > 0 || !closedErr(err) {
					t.Errorf("after the responses the connection is not closed: read %d bytes, %v", n, err)
				}
				var got []string
				for _, q := range a.all()[beforeA:] {
					if q.path != "/lead" && q.path != "/probe" {
						got = append(got, "a "+q.method+" "+q.path+" "+q.body)
					}
				}
				for _, q := range b.all()[beforeB:] {
					got = append(got, "b "+q.method+" "+q.path+" "+q.body)
				}
				if !slices.Equal(got, c.reach) {
					t.Errorf("instances got %q, want %q", got, c.reach)
				}
			})
		}
	}

	// Every request an instance received matches a logged, routed one.
	checkRouted(t, logs, map[string]*recorder{"a": &a, "b": &b})
	for _, got := range a.all() {
		if got.path == "/fold" && got.header.Get("X-A") != "1 Transfer-Encoding: chunked" {
			t.Errorf("folded header reached a as X-A %q", got.header.Get("X-A"))
		}
	}
}

// checkRouted checks that every request the recorders' instances
// received is one the router routed to that app and logged with the same
// request id, path and host, and that none was smuggled.
func checkRouted(t *testing.T, logs *accessLogs, apps map[string]*recorder) {
	t.Helper()
	// A request's line is written once its response is: wait for them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines, lineApps := logs.snapshot()
		logged := map[string]map[string]string{} // request id -> fields
		for i, l := range lines {
			f := fields(l)
			f["app"] = lineApps[i]
			logged[f["request_id"]] = f
		}
		var bad []string
		for app, rec := range apps {
			for _, got := range rec.all() {
				f := logged[got.id]
				if f == nil || f["app"] != app || f["path"] != got.path || normalizeHost(got.host) != f["host"] {
					bad = append(bad, fmt.Sprintf("app %s received %s %s (host %q, id %q) that the router did not route there (log %v)", app, got.method, got.path, got.host, got.id, f))
				}
				if strings.Contains(got.path, "smuggled") || strings.Contains(got.body, "smuggled") {
					t.Errorf("app %s received a smuggled request: %s %s %q", app, got.method, got.path, got.body)
				}
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Error(strings.Join(bad, "\n"))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// response is what readResponse read.
type response struct {
	status       int
	header, body string
}

// readResponse reads one response from br.
func readResponse(t *testing.T, br *bufio.Reader) response {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading a response body: %v", err)
	}
	var h strings.Builder
	res.Header.Write(&h)
	return response{res.StatusCode, h.String(), string(body)}
}

// closedErr reports whether err is the end of a connection the other side
// closed.
func closedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHeaderLimits: a head of 12 KiB is served, one of 24 KiB gets 431
// and its connection closes, on the plain listener (as a first request,
// and after the general path took the connection over) and the TLS one.
func TestHeaderLimits(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	var a recorder
	r.Set("a", []Backend{a.start(t, "web.1")})
	plain, secure := srv.Listener.Addr().String(), startTLS(t, r)
	lead := "GET /lead HTTP/1.1\r\nHost: a.localhost\r\nConnection: keep-alive, X-Lead\r\n\r\n"
	for name, dial := range map[string]func() net.Conn{
		"first":   func() net.Conn { return dialTCP(t, plain) },
		"general": func() net.Conn { c := dialTCP(t, plain); io.WriteString(c, lead); return c },
		"tls":     func() net.Conn { return dialTLS(t, secure) },
	} {
		for _, tc := range []struct {
			size, status int
			open         bool
		}{{12 << 10, 200, true}, {24 << 10, 431, false}} {
			c := dial()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			if name == "general" {
				readResponse(t, br)
			}
			io.WriteString(c, "GET /big HTTP/1.1\r\nHost: a.localhost\r\nX-Big: "+strings.Repeat("x", tc.size)+"\r\n\r\n")
			if res := readResponse(t, br); res.status != tc.status {
				t.Errorf("%s: %d bytes of headers: %d, want %d", name, tc.size, res.status, tc.status)
			}
			if !tc.open {
				if n, err := br.Read(make([]byte, 1)); n > 0 || !closedErr(err) {
					t.Errorf("%s: %d bytes of headers: connection not closed (%v)", name, tc.size, err)
				}
			}
			c.Close()
		}
	}
	n := 0
	for _, q := range a.all() {
		if q.path == "/big" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("backend got %d requests with big headers, want 3", n)
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestSlowloris(t *testing.T) {
	r, _, _ := setup(t, Config{})
	var a recorder
	r.Set("a", []Backend{a.start(t, "web.1")})
	addr := startFront(t, r, ServerLimits{HeaderTimeout: 300 * time.Millisecond}).Listener.Addr().String()

	// A baseline with one request served, so lazily started goroutines
	// are there already.
	c := dialTCP(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.localhost\r\nConnection: close\r\n\r\n")
	readResponse(t, bufio.NewReader(c))
	c.Close()
	baseG, baseFD := runtime.NumGoroutine(), openFDs(t)

	const clients = 20
	var wg sync.WaitGroup
	cut := make(chan time.Duration, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			start := time.Now()
			msg := "GET / HTTP/1.1\r\nHost: a.localhost\r\nX-Slow: " + strings.Repeat("z", 100)
			for i := range len(msg) {
				if _, err := c.Write([]byte{msg[i]}); err != nil {
					break
				}
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
					break // the router closed the connection
				}
				if time.Since(start) > 5*time.Second {
					cut <- -1
					return
				}
			}
			cut <- time.Since(start)
		}()
	}
	wg.Wait()
	close(cut)
	for d := range cut {
		if d < 0 || d > 2*time.Second {
			t.Errorf("a client trickling headers was cut after %v, want about 300ms", d)
		}
	}
	if n := len(a.all()); n != 1 {
		t.Errorf("backend got %d requests, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), openFDs(t)
		if g <= baseG && fd <= baseFD {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines %d (baseline %d), fds %d (baseline %d)", g, baseG, fd, baseFD)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTrustedProxies(t *testing.T) {
	spoof := http.Header{
		"X-Forwarded-For":   {"6.6.6.6, 7.7.7.7"},
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-Port":  {"443"},
		"X-Forwarded-Host":  {"www.example.com"},
		"Via":               {"1.1 edge"},
	}
	t.Run("untrusted", func(t *testing.T) {
		r, srv, _ := setup(t, Config{})
		b, _ := backend(t, "web.1")
		r.Set("hello", []Backend{b})
		_, body := get(t, srv, "hello.localhost", "/", spoof)
		h := decode(t, body).Header
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		for k, v := range map[string]string{
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Port": port,
			"X-Forwarded-Host": "hello.localhost", "Via": "1.1 edge,1.1 paas",
		} {
			if got := strings.Join(h.Values(k), ","); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		start := h.Get("X-Request-Start")
		if !regexp.MustCompile(`^\d{13}$`).MatchString(start) {
			t.Errorf("X-Request-Start %q, want milliseconds", start)
		}
	})
	t.Run("trusted", func(t *testing.T) {
		r, srv, _ := setup(t, Config{TrustedProxies: mustPrefixes(t, "127.0.0.0/8")})
		b, _ := backend(t, "web.1")
		r.Set("hello", []Backend{b})
		_, body := get(t, srv, "hello.localhost", "/", spoof)
		h := decode(t, body).Header
		for k, v := range map[string]string{
			"X-Forwarded-For": "6.6.6.6, 7.7.7.7, 127.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443",
			"X-Forwarded-Host": "www.example.com",
		} {
			if got := strings.Join(h.Values(k), ","); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
}

func TestHopByHopHeaders(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	var a recorder
	r.Set("a", []Backend{a.start(t, "web.1")})
	res, _ := get(t, srv, "a.localhost", "/", http.Header{
		"Connection":       {"X-Secret, keep-alive"},
		"X-Secret":         {"client secret"},
		"Keep-Alive":       {"timeout=5"},
		"Proxy-Connection": {"keep-alive"},
		"Te":               {"trailers"},
		"Upgrade":          {"h2c"},
	})
	got := a.all()
	if len(got) != 1 {
		t.Fatalf("backend got %d requests", len(got))
	}
	for _, k := range []string{"X-Secret", "Keep-Alive", "Proxy-Connection", "Upgrade"} {
		if v := got[0].header.Get(k); v != "" {
			t.Errorf("backend saw %s: %q", k, v)
		}
	}
	for _, k := range []string{"X-Private", "Keep-Alive"} {
		if v := res.Header.Get(k); v != "" {
			t.Errorf("client saw %s: %q", k, v)
		}
	}
}

// TestWebSocketEcho runs a WebSocket handshake and masked frames through
// the router to an echoing instance.
func TestWebSocketEcho(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		key := req.Header.Get("Sec-WebSocket-Key")
		if req.Header.Get("Upgrade") != "websocket" || key == "" {
			http.Error(w, "not a websocket", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
		brw.Flush()
		for {
			op, payload, err := readFrame(brw.Reader)
			if err != nil || op == 8 {
				return
			}
			conn.Write(frame(op, payload, false))
		}
	}))
	defer echo.Close()
	r.Set("ws", []Backend{{Name: "web.1", Addr: echo.Listener.Addr().String()}})
	secure := startTLS(t, r)

	for name, dial := range map[string]func() net.Conn{
		"http":  func() net.Conn { return dialTCP(t, srv.Listener.Addr().String()) },
		"https": func() net.Conn { return dialTLS(t, secure) },
	} {
		c := dial()
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(c, "GET /chat HTTP/1.1\r\nHost: ws.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 101 || res.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" || res.Header.Get("Connection") != "Upgrade" {
			t.Fatalf("%s handshake: %d %v", name, res.StatusCode, res.Header)
		}
		for _, msg := range []string{"hello", strings.Repeat("x", 300)} {
			c.Write(frame(1, []byte(msg), true))
			op, payload, err := readFrame(br)
			if err != nil || op != 1 || string(payload) != msg {
				t.Fatalf("%s echo of %d bytes: op %d, %d bytes, %v", name, len(msg), op, len(payload), err)
			}
		}
	}
}

// frame encodes one final WebSocket frame, masked as clients must.
func frame(op byte, payload []byte, mask bool) []byte {
	b := []byte{0x80 | op}
	m := byte(0)
	if mask {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	default:
		b = append(b, m|126, byte(n>>8), byte(n))
	}
	if !mask {
		return append(b, payload...)
	}
	key := [4]byte{1, 2, 3, 4}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// readFrame decodes one WebSocket frame of up to 64 KiB.
func readFrame(br *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(br, h[:]); err != nil {
		return
	}
	op = h[0] & 0x0f
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		if _, err = io.ReadFull(br, l[:]); err != nil {
			return
		}
		n = int(l[0])<<8 | int(l[1])
	}
	var key [4]byte
	if h[1]&0x80 != 0 {
		if _, err = io.ReadFull(br, key[:]); err != nil {
			return
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(br, payload); err != nil {
		return
	}
	if h[1]&0x80 != 0 {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return
}

func mustPrefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

// TestHTTP2HostField: in HTTP/2 the :authority names the host; a Host
// field naming another app is refused, one repeating it is served.
func TestHTTP2HostField(t *testing.T) {
	r, _, _ := setup(t, Config{})
	var a, b recorder
	r.Set("a", []Backend{a.start(t, "a-web.1")})
	r.Set("b", []Backend{b.start(t, "b-web.1")})
	c, err := tls.Dial("tcp", startTLS(t, r), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// One header compression state each way, for the connection.
	var block bytes.Buffer
	enc, dec := hpack.NewEncoder(&block), hpack.NewDecoder(4096, nil)
	get := func(stream uint32, authority, host string) int {
		t.Helper()
		block.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", authority}, {":path", "/h2"}, {"host", host}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					fr.WriteSettingsAck()
				}
			case *http2.HeadersFrame:
				fields, err := dec.DecodeFull(f.HeaderBlockFragment())
				if err != nil {
					t.Fatal(err)
				}
				if f.StreamID != stream {
					continue
				}
				for _, hf := range fields {
					if hf.Name == ":status" {
						status, _ := strconv.Atoi(hf.Value)
						return status
					}
				}
			case *http2.RSTStreamFrame:
				if f.StreamID == stream {
					t.Fatalf("stream %d reset: %v", stream, f.ErrCode)
				}
			case *http2.GoAwayFrame:
				t.Fatalf("connection closed: %v", f.ErrCode)
			}
		}
	}
	if status := get(1, "a.localhost", "b.localhost"); status != 400 {
		t.Errorf(":authority a, Host b: %d, want 400", status)
	}
	if status := get(3, "a.localhost", "a.localhost:443"); status != 200 {
		t.Errorf(":authority a, Host a: %d, want 200", status)
	}
	if got := len(b.all()); got != 0 {
		t.Errorf("app b got %d requests", got)
	}
	if got := len(a.all()); got != 1 {
		t.Errorf("app a got %d requests, want 1", got)
	}
}
