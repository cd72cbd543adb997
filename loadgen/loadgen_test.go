package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Server modes of the test app.
const (
	answer200 = iota
	answer500
	hangUp
)

// testApp is a server whose behaviour the test switches while load runs,
// counting what it did.
type testApp struct {
	mode                        atomic.Int32
	release                     atomic.Int32
	ok, failed, hungUp, newConn atomic.Int64
	srv                         *httptest.Server
}

func startApp(t *testing.T) *testApp {
	t.Helper()
	a := &testApp{}
	a.release.Store(3)
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	a.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			a.newConn.Add(1)
		}
	}
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	return a
}

func (a *testApp) serve(w http.ResponseWriter, r *http.Request) {
	if r.Host != "app.localhost" {
		http.Error(w, "wrong host "+r.Host, http.StatusBadRequest)
		return
	}
	switch a.mode.Load() {
	case answer500:
		a.failed.Add(1)
		http.Error(w, "broken v9", http.StatusInternalServerError)
	case hangUp:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		a.hungUp.Add(1)
		conn.Close()
	default:
		a.ok.Add(1)
		fmt.Fprintf(w, "ok from web.1 v%d\n", a.release.Load())
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCountsMatchServer(t *testing.T) {
	app := startApp(t)
	run := Start(context.Background(), Config{URL: app.srv.URL + "/", Host: "app.localhost", Conns: 8, Timeout: 5 * time.Second})
	waitFor(t, "200s", func() bool { return app.ok.Load() >= 200 })
	app.mode.Store(answer500)
	waitFor(t, "500s", func() bool { return app.failed.Load() >= 100 })
	app.mode.Store(hangUp)
	waitFor(t, "hang-ups", func() bool { return app.hungUp.Load() >= 50 })
	app.release.Store(4)
	app.mode.Store(answer200)
	before := app.ok.Load()
	waitFor(t, "200s of v4", func() bool { return app.ok.Load() >= before+200 })
	if snap := run.Snapshot(); snap.Requests == 0 || snap.ByRelease["v4"] == 0 {
		t.Errorf("snapshot while running: %+v", snap)
	}
	res := run.Stop()

	total := app.ok.Load() + app.failed.Load() + app.hungUp.Load()
	if res.Requests != total {
		t.Errorf("requests: counted %d, server saw %d", res.Requests, total)
	}
	if res.ByStatus[200] != app.ok.Load() || res.ByStatus[500] != app.failed.Load() {
		t.Errorf("by status %v, server answered 200 x%d, 500 x%d", res.ByStatus, app.ok.Load(), app.failed.Load())
	}
	if want := app.failed.Load() + app.hungUp.Load(); res.Failures != want {
		t.Errorf("failures: counted %d, want %d", res.Failures, want)
	}
	var errs int64
	for _, n := range res.Errors {
		errs += n
	}
	if errs != app.hungUp.Load() {
		t.Errorf("errors %v add up to %d, server hung up %d times", res.Errors, errs, app.hungUp.Load())
	}
	if res.Errors[retriedText] == 0 {
		t.Errorf("no hang-up on a kept-alive connection was noticed: %v", res.Errors)
	}
	if got := res.ByRelease["v3"] + res.ByRelease["v4"]; got != app.ok.Load() || len(res.ByRelease) != 2 {
		t.Errorf("by release %v, server answered %d", res.ByRelease, app.ok.Load())
	}
	if !res.FirstSeen["v3"].Before(res.FirstSeen["v4"]) {
		t.Errorf("first seen %v", res.FirstSeen)
	}
	if _, ok := res.FirstSeen["v9"]; ok {
		t.Errorf("a failed response counted as a release: %v", res.FirstSeen)
	}
	if again := run.Stop(); again.Requests != res.Requests {
		t.Errorf("second Stop: %d requests, first %d", again.Requests, res.Requests)
	}
}

func TestOneKeptAliveConnectionPerWorker(t *testing.T) {
	app := startApp(t)
	run := Start(context.Background(), Config{URL: app.srv.URL + "/", Host: "app.localhost", Conns: 4})
	waitFor(t, "requests", func() bool { return app.ok.Load() >= 400 })
	res := run.Stop()
	// Each worker keeps its own connection; the transport may replace one
	// now and then (it gives up reusing a connection whose write it has not
	// seen finish within a few milliseconds), never one per request.
	if n := app.newConn.Load(); n < 4 || n > 8 {
		t.Errorf("%d connections for 4 workers and %d requests", n, res.Requests)
	}
	if res.Failures != 0 || res.Requests != app.ok.Load() {
		t.Errorf("result %+v, server answered %d", res, app.ok.Load())
	}
}

func TestContextEndStopsRun(t *testing.T) {
	arrived := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	run := Start(ctx, Config{URL: srv.URL, Conns: 2, Timeout: time.Minute})
	<-arrived
	cancel()
	done := make(chan Result)
	go func() { done <- run.Stop() }()
	select {
	case res := <-done:
		if res.Requests != 0 {
			t.Errorf("requests cut short by the context were counted: %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return after the context ended")
	}
}

func TestTimeoutIsAFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	run := Start(context.Background(), Config{URL: srv.URL, Conns: 2, Timeout: 50 * time.Millisecond})
	waitFor(t, "timeouts", func() bool { return run.Snapshot().Failures >= 4 })
	res := run.Stop()
	if res.Failures != res.Requests || len(res.Errors) != 1 {
		t.Fatalf("result %+v", res)
	}
	for text := range res.Errors {
		if !strings.Contains(text, "Timeout") {
			t.Errorf("error text %q does not name the timeout", text)
		}
	}
}

func TestRefusedConnectionsAreCountedTogether(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	run := Start(context.Background(), Config{URL: "http://" + addr + "/", Conns: 3})
	waitFor(t, "refusals", func() bool { return run.Snapshot().Failures >= 6 })
	res := run.Stop()
	if res.Errors["dial: connection refused"] != res.Requests || res.Failures != res.Requests {
		t.Errorf("result %+v", res)
	}
}

func TestBadURLIsOneFailure(t *testing.T) {
	for _, u := range []string{"http://[::1", "ftp://127.0.0.1/", "/relative"} {
		res := Start(context.Background(), Config{URL: u, Conns: 3}).Stop()
		if res.Requests != 1 || res.Failures != 1 || len(res.Errors) != 1 {
			t.Errorf("%s: result %+v", u, res)
		}
	}
}

func TestReleaseOf(t *testing.T) {
	for body, want := range map[string]string{
		"ok from web.1 v12\n": "v12",
		"v1 then v2 and v34":  "v34",
		"no marker":           "",
		"xv3":                 "",
		" v":                  "",
	} {
		if got := releaseOf([]byte(body)); got != want {
			t.Errorf("releaseOf(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestErrorKindsAreBounded(t *testing.T) {
	var tl tally
	tl.init()
	for i := range 100 {
		tl.failure(fmt.Sprintf("error %d %s", i, strings.Repeat("x", 200)))
	}
	res := tl.snapshot()
	if len(res.Errors) != maxErrorKinds+1 || res.Errors[otherErrors] != 100-maxErrorKinds {
		t.Fatalf("%d kinds, %d other", len(res.Errors), res.Errors[otherErrors])
	}
	for text := range res.Errors {
		if len(text) > maxErrorLen {
			t.Errorf("text of %d bytes kept", len(text))
		}
	}
	res.Errors["changed"] = 1
	if _, ok := tl.snapshot().Errors["changed"]; ok {
		t.Error("a snapshot shares its maps with the run")
	}
}
