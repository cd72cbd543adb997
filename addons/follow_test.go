package addons

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"paas/internal/syncbuf"
)

// fakeEngine is a Docker API on a unix socket that either drops every
// connection, as a stopping engine does, or answers an empty container
// list and an event stream that stays open.
type fakeEngine struct {
	sock    string
	serving atomic.Bool
	dropped atomic.Int64
	lists   atomic.Int64
}

func (e *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !e.serving.Load() {
		e.dropped.Add(1)
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/containers/json"):
		e.lists.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("[]"))
	case strings.HasSuffix(r.URL.Path, "/events"):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	default:
		http.NotFound(w, r)
	}
}

// Follow says once that the engine is away, however many times it tries
// meanwhile, and once that it follows again when the engine is back.
func TestFollowSaysOnceWhileTheEngineIsAway(t *testing.T) {
	eng := &fakeEngine{sock: filepath.Join(t.TempDir(), "docker.sock")}
	ln, err := net.Listen("unix", eng.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: eng}
	go srv.Serve(ln)
	defer srv.Close()
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+eng.sock), client.WithVersion("1.41"))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var logged syncbuf.Buffer
	d, err := NewDocker(DockerConfig{
		Client: cli, StackImage: "stack", Network: func(context.Context, string) (string, error) { return "", nil },
		Lines:  func(string, [][]byte) {},
		Logger: slog.New(slog.NewTextHandler(&logged, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Follow(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// Three tries (an event stream and a list each) against the engine
	// that drops them.
	waitFor(t, 20*time.Second, func() bool { return eng.dropped.Load() >= 6 })
	eng.serving.Store(true)
	// The warning says "followed again once it does": the wait is for
	// the line that says it does.
	const again = "following the add-ons' output again"
	waitFor(t, 40*time.Second, func() bool { return eng.lists.Load() >= 1 && strings.Contains(logged.String(), again) })
	out := logged.String()
	if n := strings.Count(out, "level=WARN"); n != 1 {
		t.Errorf("Follow warned %d times over %d dropped calls, want once:\n%s", n, eng.dropped.Load(), out)
	}
	if n := strings.Count(out, again); n != 1 {
		t.Errorf("Follow said %d times that it follows again, want once:\n%s", n, out)
	}
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
