package dashboard

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// stream opens an event stream of the fixture's handler over a real
// TLS server, as the browser with cookie c.
func (f *fixture) stream(path string, c *http.Cookie, hdr map[string]string) (*bufio.Reader, func()) {
	f.t.Helper()
	srv := httptest.NewUnstartedServer(f.h)
	srv.StartTLS()
	// A stream that never sends what a test waits for fails the read.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
	req.Host = testHost + ":8443"
	req.AddCookie(c)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the test's own server
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		f.t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return bufio.NewReader(resp.Body), func() { cancel(); resp.Body.Close(); srv.Close() }
}

// nextEvent reads one event: its name, id and data.
func nextEvent(t *testing.T, br *bufio.Reader) (name, id, data string) {
	t.Helper()
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if name != "" || data != "" {
				return name, id, data
			}
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "id: "):
			id = line[len("id: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
}

// TestLogStreamResumes: each line's id is its sequence number, and a
// reconnect (Last-Event-ID) or the page (?after=) gets only later lines.
func TestLogStreamResumes(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	for _, tc := range []struct {
		hdr   map[string]string
		path  string
		first string
	}{
		{nil, "/apps/shop/logs/stream", "5"},
		{map[string]string{"Last-Event-ID": "6"}, "/apps/shop/logs/stream", "7"},
		{nil, "/apps/shop/logs/stream?after=5", "6"},
	} {
		br, done := f.stream(tc.path, c, tc.hdr)
		name, id, data := nextEvent(t, br)
		if name != "line" || id != tc.first || !strings.Contains(data, `"message":"line `+tc.first+`: config changed by alice"`) {
			t.Errorf("%v %s: first event %q %q %q, want line %s", tc.hdr, tc.path, name, id, data, tc.first)
		}
		done()
	}
}

// TestStreamsEndWithTheKey: a stream sends heartbeats, and ends at the
// first one after the session's key is removed.
func TestStreamsEndWithTheKey(t *testing.T) {
	old := heartbeat
	heartbeat = 20 * time.Millisecond
	t.Cleanup(func() { heartbeat = old })
	f := newFixture(t)
	f.h.cfg.Progress = NewProgress()
	c, _ := f.login("SHA256:bob")
	for _, path := range []string{"/apps/shop/logs/stream?after=7", "/apps/shop/deploys/stream"} {
		br, done := f.stream(path, c, nil)
		line, _ := br.ReadString('\n') // retry:
		if !strings.HasPrefix(line, "retry: ") {
			t.Errorf("%s: first line %q", path, line)
		}
		var seen bytes.Buffer
		for !strings.Contains(seen.String(), ": heartbeat") {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			seen.WriteString(l)
		}
		// Bob loses access to shop: his stream ends.
		f.p.mu.Lock()
		f.p.apps["shop"].collab = nil
		f.p.mu.Unlock()
		name, _, data := nextEvent(t, br)
		if name != "end" || !strings.Contains(data, "access removed") {
			t.Errorf("%s: after access was removed: %q %q", path, name, data)
		}
		f.p.mu.Lock()
		f.p.apps["shop"].collab = []string{"bob"}
		f.p.mu.Unlock()
		done()
	}
}

// TestDeployProgress: a push's output reaches the app's subscribers as
// it is written, and also its own writer.
func TestDeployProgress(t *testing.T) {
	f := newFixture(t)
	p := NewProgress()
	f.h.cfg.Progress = p
	c, _ := f.login("SHA256:alice")
	br, done := f.stream("/apps/shop/deploys/stream", c, nil)
	defer done()
	// The stream has subscribed once it answered.
	var pusher bytes.Buffer
	w, end := p.Push("shop", "0123456789abcdef0123", &pusher)
	other, endOther := p.Push("blog", "fedcba", &bytes.Buffer{})
	other.Write([]byte("blog's build\n"))
	endOther(nil)
	w.Write([]byte("-----> Building\r\n-----> Pyth"))
	w.Write([]byte("on app detected\npartial"))
	end(nil)
	want := [][2]string{{"start", "push of 0123456789ab"}, {"line", "-----> Building"}, {"line", "-----> Python app detected"}, {"line", "partial"}, {"end", "deployed"}}
	for _, w := range want {
		name, _, data := nextEvent(t, br)
		if name != w[0] || data != w[1] {
			t.Errorf("event %q %q, want %q %q", name, data, w[0], w[1])
		}
	}
	if pusher.String() != "-----> Building\r\n-----> Python app detected\npartial" {
		t.Errorf("the pusher got %q", pusher.String())
	}
}

// TestLogsPageRendersTheNewestLines: the page shows the newest n lines,
// a link to older ones when the history may hold more, and where the
// stream is to resume.
func TestLogsPageRendersTheNewestLines(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	body := f.do("GET", "/apps/shop/logs?n=3", c, nil, nil).Body.String()
	if !strings.Contains(body, `href="/apps/shop/logs?n=6"`) || !strings.Contains(body, `data-stream="/apps/shop/logs/stream?after=7"`) || !strings.Contains(body, "line 7: config changed by alice") {
		t.Errorf("page of 3 lines:\n%s", body)
	}
	if body := f.do("GET", "/apps/shop/logs?n=4", c, nil, nil).Body.String(); strings.Contains(body, "Show older lines") {
		t.Errorf("an older link with all lines shown:\n%s", body)
	}
}

// TestCloseEndsStreams: a server shutting down does not wait for open
// event streams.
func TestCloseEndsStreams(t *testing.T) {
	f := newFixture(t)
	f.h.cfg.Progress = NewProgress()
	c, _ := f.login("SHA256:alice")
	for _, path := range []string{"/apps/shop/logs/stream", "/apps/shop/deploys/stream"} {
		br, done := f.stream(path, c, nil)
		f.h.Close()
		if _, err := io.ReadAll(br); err != nil {
			t.Errorf("%s: the stream did not end: %v", path, err)
		}
		done()
	}
}

// TestStreamsPerSessionAreBounded: one session cannot hold more than
// maxStreams streams open; another session has its own.
func TestStreamsPerSessionAreBounded(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	var dones []func()
	for i := 0; i < maxStreams; i++ {
		_, done := f.stream("/apps/shop/logs/stream?after=7", c, nil)
		dones = append(dones, done)
	}
	if w := f.do("GET", "/apps/shop/logs/stream", c, nil, nil); w.Code != http.StatusTooManyRequests {
		t.Errorf("stream %d: %d, want 429", maxStreams+1, w.Code)
	}
	// Another session has its own room.
	c2, _ := f.login("SHA256:bob")
	_, done := f.stream("/apps/shop/logs/stream?after=7", c2, nil)
	done()
	for _, d := range dones {
		d()
	}
}
