package paasd

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitReleaseWaitsForTheRelease(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "bench-a.localhost" {
			http.NotFound(w, r)
			return
		}
		n := hits.Add(1)
		switch {
		case n < 3:
			http.Error(w, "no instance", http.StatusBadGateway)
		default:
			fmt.Fprintf(w, "ok from web.1 v%d\n", n/3)
		}
	}))
	defer ts.Close()
	s := &Server{HTTPAddr: strings.TrimPrefix(ts.URL, "http://")}
	v, err := s.WaitRelease(context.Background(), "bench-a", 10*time.Second, func(v int) bool { return v >= 2 })
	if err != nil || v != 2 {
		t.Fatalf("WaitRelease = %d, %v; want 2", v, err)
	}
	_, err = s.WaitRelease(context.Background(), "bench-b", 50*time.Millisecond, func(int) bool { return true })
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("WaitRelease of an app that is not there = %v, want the last answer", err)
	}
}

func TestReleaseOf(t *testing.T) {
	for body, want := range map[string]int{"ok from web.1 v12\n": 12, "hello v1": 1, "v3": -1, "ok": -1, "ok v\n": -1} {
		v, ok := releaseOf(body)
		if (want < 0 && ok) || (want >= 0 && (!ok || v != want)) {
			t.Errorf("releaseOf(%q) = %d, %v; want %d", body, v, ok, want)
		}
	}
}
