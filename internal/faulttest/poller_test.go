package faulttest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPollerTellsOutcomes polls a server that answers as the app, fails,
// and answers as another app, in turn: each is counted as what it is, and
// the run of good answers after the bad ones is found.
func TestPollerTellsOutcomes(t *testing.T) {
	var mode atomic.Int32 // 0 right, 1 failing, 2 another app's answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "shop.example.test" {
			http.Error(w, "unknown host "+r.Host, http.StatusNotFound)
			return
		}
		switch mode.Load() {
		case 0:
			io.WriteString(w, Answer("shop"))
		case 1:
			http.Error(w, "no instance", http.StatusServiceUnavailable)
		default:
			io.WriteString(w, Answer("blog"))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	p := Start(ctx, Config{URL: srv.URL + "/", App: "shop", Domain: "example.test", Interval: time.Millisecond})
	if _, err := p.WaitAnswered(ctx, time.Now(), 3, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitCount := func(what string, n func(Counts) int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for n(p.Counts()) < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("no %s answers counted: %+v", what, p.Counts())
			}
			time.Sleep(time.Millisecond)
		}
	}
	mode.Store(1)
	waitCount("failed", func(c Counts) int { return c.Failed })
	mode.Store(2)
	waitCount("wrong", func(c Counts) int { return c.Wrong })
	bad := time.Now()
	if _, ok := p.AnsweredSince(bad, 1); ok {
		t.Fatal("answered since the wrong answers began, before any right one")
	}
	mode.Store(0)
	at, err := p.WaitAnswered(ctx, bad, 5, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Stop()
	if at.Before(bad) || c.OK < 8 || c.Requests != c.OK+c.Failed+c.Wrong {
		t.Fatalf("recovered at %v (bad from %v), counts %+v", at, bad, c)
	}
	if len(c.WrongAnswers) == 0 || !strings.Contains(c.WrongAnswers[0], "marker:blog") {
		t.Fatalf("wrong answers %q, want the other app's", c.WrongAnswers)
	}
}

// TestWaitAnsweredGivesUp reports, after its limit, an app that never
// answers.
func TestWaitAnsweredGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no instance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	p := Start(context.Background(), Config{URL: srv.URL + "/", App: "shop", Domain: "example.test", Interval: time.Millisecond})
	defer p.Stop()
	_, err := p.WaitAnswered(context.Background(), time.Now(), 1, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "shop did not answer") {
		t.Fatalf("err = %v", err)
	}
}
