package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHostMatching(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	hello, _ := backend(t, "hello-web.1")
	other, _ := backend(t, "other-web.1")
	r.Set("hello", []Backend{hello})
	r.Set("other", []Backend{other})

	for _, host := range []string{
		"hello.localhost", "HELLO.LocalHost", "hello.localhost:8080",
		"hello.localhost.", "hello.localhost.:80", "Hello.LOCALHOST.:1",
	} {
		res, body := get(t, srv, host, "/x?y=1", nil)
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d", host, res.StatusCode)
			continue
		}
		s := decode(t, body)
		if s.Name != "hello-web.1" || s.Path != "/x?y=1" {
			t.Errorf("%s: reached %s %s", host, s.Name, s.Path)
		}
		if s.Host != host {
			t.Errorf("%s: backend saw Host %q", host, s.Host)
		}
	}
	if res, body := get(t, srv, "other.localhost", "/", nil); res.StatusCode != 200 || decode(t, body).Name != "other-web.1" {
		t.Errorf("other app: %d %s", res.StatusCode, body)
	}
	for _, host := range []string{
		"localhost", "x.hello.localhost", "hello.example.com", "hellolocalhost",
		".localhost", "nope.localhost", "hello.localhost.evil", "127.0.0.1",
	} {
		if res, _ := get(t, srv, host, "/", nil); res.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", host, res.StatusCode)
		}
	}
}

func TestErrorPages(t *testing.T) {
	r, srv, logs := setup(t, Config{})
	r.Set("empty", nil)
	r.Set("dead", []Backend{{Name: "web.1", Addr: deadAddr(t)}})

	cases := []struct {
		host, text string
		status     int
	}{
		{"nope.localhost", "No such app", 404},
		{"empty.localhost", "No web processes running", 503},
		{"dead.localhost", "Bad gateway", 502},
	}
	for _, c := range cases {
		res, body := get(t, srv, c.host, "/", http.Header{"X-Request-Id": {"req-" + c.host}})
		if res.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.host, res.StatusCode, c.status)
		}
		if !strings.Contains(string(body), c.text) || !strings.Contains(string(body), "req-"+c.host) {
			t.Errorf("%s: body %q", c.host, body)
		}
		if got := res.Header.Get("X-Request-Id"); got != "req-"+c.host {
			t.Errorf("%s: X-Request-Id %q", c.host, got)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q", c.host, ct)
		}
		if len(body) > 1024 {
			t.Errorf("%s: page of %d bytes", c.host, len(body))
		}
	}
	lines, apps := logs.wait(t, 2)
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (none for unknown app), got %q", lines)
	}
	if apps[0] != "empty" || !strings.HasPrefix(lines[0], `at=error code=H14 desc="No web processes running" method=GET`) ||
		!strings.Contains(lines[0], " status=503 ") {
		t.Errorf("503 line: %s %q", apps[0], lines[0])
	}
	if apps[1] != "dead" || !strings.HasPrefix(lines[1], `at=error code=H19 desc="Backend connection failed"`) ||
		!strings.Contains(lines[1], " dyno=web.1 ") || !strings.Contains(lines[1], " status=502 ") {
		t.Errorf("502 line: %s %q", apps[1], lines[1])
	}

	r.Remove("empty")
	if res, _ := get(t, srv, "empty.localhost", "/", nil); res.StatusCode != 404 {
		t.Errorf("removed app: status %d", res.StatusCode)
	}
}

func TestGatewayTimeout(t *testing.T) {
	r, srv, logs := setup(t, Config{ResponseHeaderTimeout: 100 * time.Millisecond})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	r.Set("slow", []Backend{{Name: "web.1", Addr: slow.Listener.Addr().String()}})
	res, body := get(t, srv, "slow.localhost", "/", nil)
	if res.StatusCode != 504 || !strings.Contains(string(body), "Gateway timeout") {
		t.Fatalf("status %d body %q", res.StatusCode, body)
	}
	lines, _ := logs.wait(t, 1)
	if !strings.HasPrefix(lines[0], `at=error code=H12 desc="Request timeout"`) || !strings.Contains(lines[0], "status=504") {
		t.Errorf("line %q", lines[0])
	}
}

func TestRoundRobin(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	a, _ := backend(t, "web.1")
	b, _ := backend(t, "web.2")
	r.Set("rr", []Backend{a, b})
	var got []string
	for range 6 {
		_, body := get(t, srv, "rr.localhost", "/", nil)
		got = append(got, decode(t, body).Name)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("not alternating: %v", got)
		}
	}
}

func TestRetryOnDeadBackend(t *testing.T) {
	r, srv, logs := setup(t, Config{})
	live, _ := backend(t, "web.2")
	// Each dead instance costs one retry: then it is marked down and
	// passed over. Round robin starts at web.1.
	r.Set("half", []Backend{{Name: "web.1", Addr: deadAddr(t)}, live, {Name: "web.3", Addr: deadAddr(t)}})
	for i := range 6 {
		res, body := get(t, srv, "half.localhost", "/", nil)
		if res.StatusCode != 200 || decode(t, body).Name != "web.2" {
			t.Fatalf("request %d: %d %q", i, res.StatusCode, body)
		}
	}
	lines, _ := logs.wait(t, 6)
	for _, l := range lines {
		if !strings.HasPrefix(l, "at=info ") || !strings.Contains(l, " dyno=web.2 ") {
			t.Errorf("line %q", l)
		}
	}
	// A request is retried once only.
	r.Set("two-dead", []Backend{{Name: "web.1", Addr: deadAddr(t)}, {Name: "web.3", Addr: deadAddr(t)}, live})
	if res, _ := get(t, srv, "two-dead.localhost", "/", nil); res.StatusCode != 502 {
		t.Errorf("two dead instances in a row: %d, want 502", res.StatusCode)
	}
	if res, body := get(t, srv, "two-dead.localhost", "/", nil); res.StatusCode != 200 || decode(t, body).Name != "web.2" {
		t.Errorf("after both were marked down: %d %q", res.StatusCode, body)
	}
	// A request with a body is not retried: the body is gone. Nor is a
	// non-idempotent one.
	r.Set("half", []Backend{{Name: "web.1", Addr: deadAddr(t)}, live})
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("payload"))
	req.Host = "half.localhost"
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 502 {
		t.Errorf("POST with body to a dead backend: %d", res.StatusCode)
	}
}

// TestRetryOnSilentClose: an instance that accepts connections and
// closes them without an answer (an engine's port proxy whose container
// is gone) costs an idempotent request without a body one retry on
// another instance, as nginx's proxy_next_upstream does, on the fast
// path and on the general one alike; a request with a body gets 502.
func TestRetryOnSilentClose(t *testing.T) {
	r, front, _ := setup(t, Config{})
	general := httptest.NewServer(r)
	t.Cleanup(general.Close)
	live, _ := backend(t, "web.2")
	for name, url := range map[string]string{"fast": front.URL, "general": general.URL} {
		app := "silent-" + name
		r.Set(app, []Backend{{Name: "web.1", Addr: silentAddr(t)}, live})
		for i := range 4 {
			req, _ := http.NewRequest("GET", url+"/", nil)
			req.Host = app + ".localhost"
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || decode(t, body).Name != "web.2" {
				t.Fatalf("%s path, request %d: %d %q", name, i, res.StatusCode, body)
			}
		}
		r.Set(app, []Backend{{Name: "web.1", Addr: silentAddr(t)}, live})
		req, _ := http.NewRequest("POST", url+"/", strings.NewReader("payload"))
		req.Host = app + ".localhost"
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 502 {
			t.Errorf("%s path: POST with body to a silent backend: %d", name, res.StatusCode)
		}
	}
}

// silentAddr returns the address of a listener that closes every
// connection it accepts once it has read the request.
func silentAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				c.Read(make([]byte, 4096))
				c.Close()
			}()
		}
	}()
	return l.Addr().String()
}

func TestForwardingHeaders(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	b, _ := backend(t, "web.1")
	r.Set("hello", []Backend{b})
	_, routerPort, _ := net.SplitHostPort(srv.Listener.Addr().String())

	res, body := get(t, srv, "hello.localhost:5000", "/", http.Header{
		"X-Forwarded-For":   {"6.6.6.6"},
		"X-Forwarded-Host":  {"evil.example"},
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-Port":  {"1"},
		"Forwarded":         {"for=6.6.6.6"},
		"X-Real-Ip":         {"6.6.6.6"},
		"X-Request-Id":      {"abc.DEF_123-x"},
	})
	s := decode(t, body)
	want := map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Host":  "hello.localhost:5000",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Port":  routerPort,
		"X-Request-Id":      "abc.DEF_123-x",
		"Forwarded":         "",
		"X-Real-Ip":         "",
	}
	for k, v := range want {
		if got := strings.Join(s.Header.Values(k), ","); got != v {
			t.Errorf("backend saw %s: %q, want %q", k, got, v)
		}
	}
	if s.Host != "hello.localhost:5000" {
		t.Errorf("Host %q", s.Host)
	}
	if got := res.Header.Values("X-Request-Id"); len(got) != 1 || got[0] != "abc.DEF_123-x" {
		t.Errorf("response X-Request-Id %q", got)
	}

	// Invalid inbound ids are replaced by a generated one.
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, bad := range []string{"", "has space", "semi;colon", strings.Repeat("a", 201)} {
		hdr := http.Header{}
		if bad != "" {
			hdr.Set("X-Request-Id", bad)
		}
		res, body := get(t, srv, "hello.localhost", "/", hdr)
		gen := decode(t, body).Header.Get("X-Request-Id")
		if !uuid.MatchString(gen) || res.Header.Get("X-Request-Id") != gen {
			t.Errorf("inbound %q: backend saw %q, response %q", bad, gen, res.Header.Get("X-Request-Id"))
		}
	}
}

func TestAccessLog(t *testing.T) {
	r, srv, logs := setup(t, Config{})
	b, _ := backend(t, "web.1")
	r.Set("hello", []Backend{b})
	res, body := get(t, srv, "Hello.localhost:80", `/x?q="a%20b"`, http.Header{"X-Request-Id": {"rid-1"}})
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	lines, apps := logs.wait(t, 1)
	re := regexp.MustCompile(`^at=info method=GET path="/x\?q=\\"a%20b\\"" host=hello.localhost request_id=rid-1 fwd="127.0.0.1" dyno=web.1 connect=\d+ms service=\d+ms status=200 bytes=(\d+) protocol=http$`)
	m := re.FindStringSubmatch(lines[0])
	if apps[0] != "hello" || m == nil {
		t.Fatalf("app %q line %q", apps[0], lines[0])
	}
	if m[1] != fmt.Sprint(len(body)) {
		t.Errorf("bytes=%s, body %d bytes", m[1], len(body))
	}
}

// TestStreamingFlush streams through both paths: a plain request takes
// the fast one, a Connection header naming another header the general
// one.
func TestStreamingFlush(t *testing.T) {
	for name, conn := range map[string]string{"fast": "", "general": "X-Hop"} {
		t.Run(name, func(t *testing.T) { testStreamingFlush(t, conn) })
	}
}

func testStreamingFlush(t *testing.T, connection string) {
	r, srv, _ := setup(t, Config{})
	release := make(chan struct{})
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "one\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-req.Context().Done():
			return
		}
		fmt.Fprint(w, "two\n")
	}))
	defer stream.Close()
	r.Set("stream", []Backend{{Name: "web.1", Addr: stream.Listener.Addr().String()}})

	// The client reads the first chunk while the backend handler is still
	// blocked: it can only arrive if every hop flushed it.
	type first struct {
		line string
		br   *bufio.Reader
		body io.Closer
		err  error
	}
	got := make(chan first, 1)
	go func() {
		req, _ := http.NewRequest("GET", srv.URL+"/stream", nil)
		req.Host = "stream.localhost"
		if connection != "" {
			req.Header.Set("Connection", connection)
		}
		res, err := client.Do(req)
		if err != nil {
			got <- first{err: err}
			return
		}
		br := bufio.NewReader(res.Body)
		line, err := br.ReadString('\n')
		got <- first{line: line, br: br, body: res.Body, err: err}
	}()
	var f first
	select {
	case f = <-got:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("first chunk not flushed while the handler runs")
	}
	close(release)
	if f.err != nil {
		t.Fatal(f.err)
	}
	defer f.body.Close()
	if f.line != "one\n" {
		t.Errorf("first chunk %q", f.line)
	}
	rest, _ := io.ReadAll(f.br)
	if string(rest) != "two\n" {
		t.Errorf("rest %q", rest)
	}
	if fast := srv.front.FastRequests(); (fast == 1) != (connection == "") {
		t.Errorf("fast path served %d requests", fast)
	}
}

func TestUpgradeEcho(t *testing.T) {
	r, srv, logs := setup(t, Config{})
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.EqualFold(req.Header.Get("Upgrade"), "echo") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw) // echo until the client closes
	}))
	defer echo.Close()
	r.Set("ws", []Backend{{Name: "web.1", Addr: echo.Listener.Addr().String()}})

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "GET /socket HTTP/1.1\r\nHost: ws.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 101 || res.Header.Get("X-Request-Id") == "" {
		t.Fatalf("status %d, headers %v", res.StatusCode, res.Header)
	}
	for _, msg := range []string{"ping\n", "pong pong\n"} {
		fmt.Fprint(conn, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("echo %q: got %q, %v", msg, got, err)
		}
	}
	conn.Close()
	lines, _ := logs.wait(t, 1)
	if !strings.HasPrefix(lines[0], "at=info method=GET path=\"/socket\"") || !strings.Contains(lines[0], "status=101") {
		t.Errorf("line %q", lines[0])
	}
}

func TestConcurrentSetWhileServing(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	a, _ := backend(t, "web.1")
	b, _ := backend(t, "web.2")
	r.Set("busy", []Backend{a})

	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				r.Set("busy", []Backend{a, b})
			} else {
				r.Set("busy", []Backend{b})
			}
			r.Set(fmt.Sprint("other", i%10), []Backend{a})
			r.Remove(fmt.Sprint("other", (i+5)%10))
		}
	}()

	var readers sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range 50 {
				req, _ := http.NewRequest("GET", srv.URL, nil)
				req.Host = "busy.localhost"
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					errs <- fmt.Errorf("status %d", res.StatusCode)
					return
				}
			}
		}()
	}
	readers.Wait()
	close(stop)
	<-writerDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewServer(t *testing.T) {
	s := NewServer("127.0.0.1:0", New(Config{Domain: "localhost"}))
	if s.ReadHeaderTimeout != 10*time.Second || s.IdleTimeout != 120*time.Second || s.MaxHeaderBytes != 16<<10-headerSlop {
		t.Fatalf("server %+v", s)
	}
	if s.ReadTimeout != 0 || s.WriteTimeout != 0 {
		t.Fatal("read/write timeouts would cut streams")
	}
}

// TestBadChunkBeatsAnEarlyAnswer: a chunked body whose first chunk size
// is not a number gets 400 even from an instance that answers before
// reading the body (Python's http.server answers 501 to a POST it has no
// handler for): the request's framing decides, not the race between the
// instance's answer and the transport meeting the bad bytes.
func TestBadChunkBeatsAnEarlyAnswer(t *testing.T) {
	r, front, _ := setup(t, Config{})
	early := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.WriteHeader(http.StatusNotImplemented)
	}))
	t.Cleanup(early.Close)
	r.Set("early", []Backend{{Name: "web.1", Addr: strings.TrimPrefix(early.URL, "http://")}})
	for i := range 50 {
		c, err := net.Dial("tcp", strings.TrimPrefix(front.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: early.localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 400 {
			t.Fatalf("attempt %d: status %d, want 400", i, res.StatusCode)
		}
	}
}
