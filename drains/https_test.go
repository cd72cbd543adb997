package drains

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// logplexServer is an HTTPS drain endpoint on loopback. It checks every
// request strictly (method, headers, framing, count) and answers 500 to
// the first failFirst requests.
type logplexServer struct {
	t         *testing.T
	srv       *httptest.Server
	failFirst int

	mu       sync.Mutex
	requests int
	failed   int
	msgs     []message
	auth     []string
	rawQuery []string
}

func newLogplexServer(t *testing.T, failFirst int) *logplexServer {
	s := &logplexServer{t: t, failFirst: failFirst}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *logplexServer) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.srv.Certificate())
	return p
}

func (s *logplexServer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("reading a body: %v", err)
		return
	}
	var msgs []message
	br := bufio.NewReader(bytes.NewReader(body))
	for {
		m, err := readFrame(br)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.t.Errorf("bad frame: %v", err)
			http.Error(w, "bad frame", http.StatusBadRequest)
			return
		}
		msgs = append(msgs, m)
	}
	count, _ := strconv.Atoi(r.Header.Get("Logplex-Msg-Count"))
	token := r.Header.Get("Logplex-Drain-Token")
	switch {
	case r.Method != http.MethodPost:
		s.t.Errorf("method %s", r.Method)
	case r.Header.Get("Content-Type") != "application/logplex-1":
		s.t.Errorf("content type %q", r.Header.Get("Content-Type"))
	case count != len(msgs) || count == 0:
		s.t.Errorf("Logplex-Msg-Count %q for %d frames", r.Header.Get("Logplex-Msg-Count"), len(msgs))
	case !strings.HasPrefix(token, "d.") || r.Header.Get("Logplex-Frame-Id") == "":
		s.t.Errorf("token %q frame id %q", token, r.Header.Get("Logplex-Frame-Id"))
	}
	for _, m := range msgs {
		if m.Hostname != token {
			s.t.Errorf("frame hostname %q, token %q", m.Hostname, token)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.rawQuery = append(s.rawQuery, r.URL.RawQuery)
	if s.requests <= s.failFirst {
		s.failed++
		http.Error(w, "down for now", http.StatusInternalServerError)
		return
	}
	s.msgs = append(s.msgs, msgs...)
	w.WriteHeader(http.StatusNoContent)
}

func (s *logplexServer) messages() []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]message(nil), s.msgs...)
}

// TestHTTPSRecovers: a drain server that answers 500 for a while gets
// every buffered line once it recovers, none lost, none repeated, in
// order, in framed batches with the drain's token; the URL's secrets are
// sent (basic auth, query) but never shown.
func TestHTTPSRecovers(t *testing.T) {
	srv := newLogplexServer(t, 5)
	m, agg, logBuf := testManager(t, newMemStore("blog"), func(c *Config) {
		c.RootCAs = srv.pool()
		c.BatchLines = 100
	})
	const secret = "s3cr3t-pw"
	const token = "tok-123456"
	u := strings.Replace(srv.srv.URL, "https://", "https://alice:"+secret+"@", 1) + "/logs?token=" + token + "&app=blog"
	st, err := m.Add("blog", u)
	if err != nil {
		t.Fatal(err)
	}
	masked := strings.Replace(srv.srv.URL, "https://", "https://alice:***@", 1) + "/logs?token=***&app=***"
	if st.URL != masked {
		t.Fatalf("masked URL %q, want %q", st.URL, masked)
	}

	const n = 2000
	numbered(agg, "blog", n)
	failing := waitStatus(t, m, "blog", 0, "failing", func(s Status) bool { return s.State == StateFailing })
	if !strings.Contains(failing.LastError, "500") {
		t.Fatalf("failing status %+v", failing)
	}
	up := waitStatus(t, m, "blog", 0, "up with every line", func(s Status) bool { return s.Sent == n })
	if up.State != StateUp || up.Dropped != 0 || up.Buffered != 0 {
		t.Fatalf("status %+v", up)
	}
	var texts []string
	for _, msg := range srv.messages() {
		if msg.AppName != "blog" || msg.ProcID != "web.1" || msg.Hostname != st.Token {
			t.Fatalf("header %+v", msg)
		}
		texts = append(texts, msg.Text)
	}
	if err := inOrder(texts, n); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	if srv.failed != 5 || srv.requests < 5+n/100 {
		t.Errorf("%d requests, %d failed", srv.requests, srv.failed)
	}
	for i, a := range srv.auth {
		if !strings.HasPrefix(a, "Basic ") || srv.rawQuery[i] != "token="+token+"&app=blog" {
			t.Errorf("request %d: auth %q query %q", i, a, srv.rawQuery[i])
		}
	}
	srv.mu.Unlock()
	for _, s := range m.List("blog") {
		if strings.Contains(s.URL+s.LastError, secret) || strings.Contains(s.URL+s.LastError, token) {
			t.Fatalf("a secret is shown: %+v", s)
		}
	}
	if out := logBuf.String(); strings.Contains(out, secret) || strings.Contains(out, token) || !strings.Contains(out, "log drain failing") {
		t.Fatalf("the manager's log:\n%s", out)
	}
}

// TestHTTPSRefused: a 4xx other than 408 and 429 drops the batch (counted)
// rather than retrying it forever.
func TestHTTPSRefused(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	var counted atomic.Uint64 // what Config.Dropped was told
	m, agg, _ := testManager(t, newMemStore("blog"), func(c *Config) {
		c.RootCAs = pool
		c.Dropped = func(n uint64) { counted.Add(n) }
	})
	if _, err := m.Add("blog", srv.URL); err != nil {
		t.Fatal(err)
	}
	numbered(agg, "blog", 10)
	st := waitStatus(t, m, "blog", 0, "refused", func(s Status) bool { return s.Dropped == 10 && counted.Load() == 10 })
	if st.State != StateFailing || !strings.Contains(st.LastError, "403") || st.Buffered != 0 {
		t.Fatalf("status %+v", st)
	}
}
