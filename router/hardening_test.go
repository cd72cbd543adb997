package router

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
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

// exchange writes raw to the router and returns the status lines of the
// responses read until the router closes the connection or goes quiet.
func exchange(t *testing.T, addr, raw string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	br := bufio.NewReader(c)
	var statuses []string
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return statuses
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		statuses = append(statuses, res.Status)
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	}
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

// TestSmuggling sends requests whose framing is ambiguous. Whatever the
// router makes of them, every request an instance receives must be one
// the router parsed, routed to that instance's app and logged with the
// same request id and path: nothing rides along inside another request.
func TestSmuggling(t *testing.T) {
	r, srv, logs := setup(t, Config{})
	var a, b recorder
	r.Set("a", []Backend{a.start(t, "a-web.1")})
	r.Set("b", []Backend{b.start(t, "b-web.1")})
	addr := srv.Listener.Addr().String()

	cases := []struct {
		name, raw string
		want      []string // status codes of the responses, in order
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: b.localhost\r\n\r\n", nil},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", nil},
		{"duplicate lengths", "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcdGET /smuggled HTTP/1.1\r\nHost: b.localhost\r\n\r\n", []string{"400"}},
		{"list length", "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 4, 40\r\n\r\nabcdGET /smuggled HTTP/1.1\r\nHost: b.localhost\r\n\r\n", []string{"400"}},
		{"obfuscated TE", "POST / HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\nabcd", []string{"501"}},
		{"TE list", "POST / HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", []string{"501"}},
		{"bare LF in chunk size", "POST /lf HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\n4\nabcd\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: b.localhost\r\n\r\n", nil},
		{"bare LF headers", "GET /bare HTTP/1.1\nHost: a.localhost\nX-A: 1\n\n", []string{"200"}},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a.localhost\r\nHost: b.localhost\r\n\r\n", []string{"400"}},
		{"space before colon", "GET / HTTP/1.1\r\nHost : b.localhost\r\nHost: a.localhost\r\n\r\n", []string{"400"}},
		{"folded header", "GET /folded HTTP/1.1\r\nHost: a.localhost\r\nX-A: 1\r\n Host: b.localhost\r\n\r\n", []string{"200"}},
		{"NUL in header", "GET / HTTP/1.1\r\nHost: a.localhost\r\nX-A: 1\x002\r\n\r\n", []string{"400"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := exchange(t, addr, c.raw)
			if c.want != nil {
				if len(got) != len(c.want) {
					t.Fatalf("responses %q, want statuses %q", got, c.want)
				}
				for i := range got {
					if !strings.HasPrefix(got[i], c.want[i]) {
						t.Errorf("response %d: %q, want %s", i, got[i], c.want[i])
					}
				}
			}
		})
	}

	// Every request an instance received matches a logged, routed one.
	// A request's line is written once its response is; wait for them.
	lines, apps := logs.wait(t, len(a.all())+len(b.all()))
	logged := map[string]map[string]string{} // request id -> fields
	for i, l := range lines {
		f := fields(l)
		f["app"] = apps[i]
		logged[f["request_id"]] = f
	}
	for app, rec := range map[string]*recorder{"a": &a, "b": &b} {
		for _, got := range rec.all() {
			if got.path == "/folded" && (got.host != "a.localhost" || got.header.Get("X-A") != "1 Host: b.localhost") {
				t.Errorf("folded header reached %s as host %q, X-A %q", app, got.host, got.header.Get("X-A"))
			}
			f := logged[got.id]
			if f == nil || f["app"] != app || f["path"] != got.path || normalizeHost(got.host) != f["host"] {
				t.Errorf("app %s received %s %s (host %q, id %q) that the router did not route there (log %v)", app, got.method, got.path, got.host, got.id, f)
			}
			if strings.Contains(got.body, "GET /smuggled") {
				t.Errorf("app %s received a body carrying another request: %q", app, got.body)
			}
		}
	}
}

func TestHeaderLimits(t *testing.T) {
	r, _, _ := setup(t, Config{})
	var a recorder
	r.Set("a", []Backend{a.start(t, "web.1")})
	addr := startFront(t, r, ServerLimits{}).Listener.Addr().String()

	ok := exchange(t, addr, "GET / HTTP/1.1\r\nHost: a.localhost\r\nX-Big: "+strings.Repeat("x", 12<<10)+"\r\n\r\n")
	if len(ok) != 1 || !strings.HasPrefix(ok[0], "200") {
		t.Errorf("12 KiB of headers: %q", ok)
	}
	big := exchange(t, addr, "GET / HTTP/1.1\r\nHost: a.localhost\r\nX-Big: "+strings.Repeat("x", 17<<10)+"\r\n\r\n")
	if len(big) != 1 || !strings.HasPrefix(big[0], "431") {
		t.Errorf("17 KiB of headers: %q, want 431", big)
	}
	if n := len(a.all()); n != 1 {
		t.Errorf("backend got %d requests, want 1", n)
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
	exchange(t, addr, "GET / HTTP/1.1\r\nHost: a.localhost\r\nConnection: close\r\n\r\n")
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

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "GET /chat HTTP/1.1\r\nHost: ws.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 101 || res.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %d %v", res.StatusCode, res.Header)
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 300)} {
		c.Write(frame(1, []byte(msg), true))
		op, payload, err := readFrame(br)
		if err != nil || op != 1 || string(payload) != msg {
			t.Fatalf("echo of %d bytes: op %d, %d bytes, %v", len(msg), op, len(payload), err)
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
