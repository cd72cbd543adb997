package deploy

import (
	"context"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"paas/store"
)

// recorder is an Observer that keeps what it is told, one string each.
type recorder struct {
	mu     sync.Mutex
	events []string
	lives  []time.Time
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) BuildStarted(app string)  { r.add("build " + app) }
func (r *recorder) BuildFailed(app string)   { r.add("build failed " + app) }
func (r *recorder) Restarted(app, i string)  { r.add("restarted " + app + " " + i) }
func (r *recorder) AppDestroyed(app string)  { r.add("destroyed " + app) }
func (r *recorder) AppRenamed(old, n string) { r.add("renamed " + old + " " + n) }
func (r *recorder) ReleaseFailed(app string, v int) {
	r.add("failed " + app + " v" + string(rune('0'+v)))
}
func (r *recorder) ReleaseLive(app string, v int, at time.Time) {
	r.mu.Lock()
	r.lives = append(r.lives, at)
	r.mu.Unlock()
	r.add("live " + app + " v" + string(rune('0'+v)))
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func TestObserverIsToldOfBuildsReleasesRestartsAndApps(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, 5*time.Second, func(c *Config) { c.Observer = rec })
	ctx := context.Background()
	start := time.Now()
	if err := h.deploy("seen", map[string]string{"Procfile": "worker: sleep 0.3; exit 3\n"}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Scale(ctx, "seen", map[string]int{"worker": 1}, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a restart", func() bool { return slices.Contains(rec.snapshot(), "restarted seen worker.1") })
	if err := h.svc.Scale(ctx, "seen", map[string]int{"worker": 0}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SetConfig(ctx, "seen", "tester", map[string]string{"A": "1"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	// A build that fails: no buildpack takes an empty tree.
	if err := h.deploy("seen", map[string]string{}); err == nil {
		t.Fatal("an empty tree was built")
	}
	// A release whose web process exits at once fails to go live.
	if err := h.deploy("seen", map[string]string{"Procfile": "web: exit 4\n"}); err == nil {
		t.Fatal("a web process that exits went live")
	}
	if err := h.svc.RenameApp(ctx, "seen", "seen2", "tester", store.RenameOptions{}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.DestroyApp(ctx, "seen2"); err != nil {
		t.Fatal(err)
	}
	got := slices.DeleteFunc(rec.snapshot(), func(e string) bool { return e == "restarted seen worker.1" })
	want := []string{"build seen", "live seen v1", "live seen v2", "build seen", "build failed seen", "build seen", "failed seen v3", "renamed seen seen2", "destroyed seen2"}
	if !slices.Equal(got, want) {
		t.Errorf("observed %q, want %q", got, want)
	}
	for _, at := range rec.lives {
		if at.Before(start) || at.After(time.Now()) || at.Location() != time.UTC {
			t.Errorf("release live at %v", at)
		}
	}
}
