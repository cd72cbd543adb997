package drains

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"paas"
	"paas/internal/syncbuf"
	"paas/logs"
)

// memStore keeps drains in memory with the store's rules: one URL once
// per app, known apps only.
type memStore struct {
	mu   sync.Mutex
	apps map[string]bool
	recs []Record
}

func newMemStore(apps ...string) *memStore {
	s := &memStore{apps: map[string]bool{}}
	for _, a := range apps {
		s.apps[a] = true
	}
	return s
}

func (s *memStore) AddDrain(r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.apps[r.App] {
		return paas.ErrAppNotFound
	}
	for _, o := range s.recs {
		if o.App == r.App && o.URL == r.URL {
			return paas.Errorf("%s already has this drain", r.App)
		}
	}
	s.recs = append(s.recs, r)
	return nil
}

func (s *memStore) RemoveDrain(app, url string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.recs, func(r Record) bool { return r.App == app && r.URL == url })
	if i < 0 {
		return paas.Errorf("%s has no such drain", app)
	}
	s.recs = slices.Delete(s.recs, i, i+1)
	return nil
}

func (s *memStore) DeleteDrains(app string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = slices.DeleteFunc(s.recs, func(r Record) bool { return r.App == app })
	return nil
}

func (s *memStore) AllDrains() ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recs), nil
}

// testManager starts a Manager on a fresh aggregator with fast retries;
// change adjusts its config first. The Manager's own log is returned.
func testManager(t *testing.T, st Store, change func(*Config)) (*Manager, *logs.Aggregator, *syncbuf.Buffer) {
	t.Helper()
	// The tail in memory holds every line a test writes, for a reader
	// that reads only afterwards.
	agg := logs.New(logs.DefaultTailLines)
	var logBuf syncbuf.Buffer
	cfg := Config{
		Logs:       agg,
		Store:      st,
		MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
		BatchWait:  20 * time.Millisecond,
		StopGrace:  time.Second,
		Logger:     slog.New(slog.NewTextHandler(&logBuf, nil)),
	}
	if change != nil {
		change(&cfg)
	}
	m := New(cfg)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, agg, &logBuf
}

// waitStatus polls app's drain i until cond holds, failing after 10 s.
func waitStatus(t *testing.T, m *Manager, app string, i int, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ss := m.List(app)
		if i < len(ss) && cond(ss[i]) {
			return ss[i]
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for drain %d of %s to be %s: %+v", i+1, app, what, ss)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// numbered writes n lines "line 0".."line n-1" as app's web.1.
func numbered(agg *logs.Aggregator, app string, n int) {
	for i := range n {
		agg.Write(app, logs.SourceApp, "web.1", fmt.Sprintf("line %d", i))
	}
}

// inOrder reports whether texts are exactly "line 0".."line n-1".
func inOrder(texts []string, n int) error {
	if len(texts) != n {
		return fmt.Errorf("%d lines, want %d", len(texts), n)
	}
	for i, s := range texts {
		if s != fmt.Sprintf("line %d", i) {
			return fmt.Errorf("line %d is %q", i, s)
		}
	}
	return nil
}
