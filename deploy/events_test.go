package deploy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/builder"
	"paas/internal/syncbuf"
	"paas/logs"
	"paas/store"
)

func TestMaskValues(t *testing.T) {
	cases := []struct {
		text   string
		values []string
		want   string
	}{
		{"no secret here", []string{"hunter22"}, "no secret here"},
		{"pw hunter22 and hunter22", []string{"hunter22"}, "pw *** and ***"},
		// The longer value is masked whole, not only its shorter prefix.
		{"url postgres://u:hunter22@db", []string{"hunter22", "postgres://u:hunter22@db"}, "url ***"},
		{"empty", []string{""}, "empty"},
	}
	for _, c := range cases {
		if got := maskValues(c.text, c.values); got != c.want {
			t.Errorf("maskValues(%q, %q) = %q, want %q", c.text, c.values, got, c.want)
		}
	}
}

func TestConfigChange(t *testing.T) {
	cases := []struct {
		set   map[string]string
		unset []string
		want  string
	}{
		{map[string]string{"B": "secret-b", "A": "secret-a"}, nil, "set A, B"},
		{nil, []string{"Z", "Y"}, "unset Y, Z"},
		{map[string]string{"A": "secret-a"}, []string{"C"}, "set A; unset C"},
		{nil, nil, "nothing"},
	}
	for _, c := range cases {
		got := configChange(c.set, c.unset)
		if got != c.want {
			t.Errorf("configChange(%v, %v) = %q, want %q", c.set, c.unset, got, c.want)
		}
		for _, v := range c.set {
			if strings.Contains(got, v) {
				t.Errorf("configChange shows the value %q: %q", v, got)
			}
		}
	}
}

// leakyBuilder fails every build with an error that quotes the build's
// config, as a careless buildpack's message might.
type leakyBuilder struct{ Builder }

func (leakyBuilder) Build(_ context.Context, req builder.Request) (builder.Result, error) {
	return builder.Result{}, fmt.Errorf("compile failed: environment was %v", req.Config)
}

// TestPlatformEvents drives an app through a failed build, a deploy, a
// scale, a crash, a release failing its health check, a config change, a
// rollback, a restart, maintenance, limits, a stop timeout, a stop and a
// start, domains and router settings, and checks that each shows as a
// paas[api] line of the right release naming the user who made the
// change, and that a config value appears in no line of the app's stream
// and nowhere in the service's own log, even where an error or a command
// quotes it.
func TestPlatformEvents(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	slogOut := &syncbuf.Buffer{}
	h.svc.log = slog.New(slog.NewTextHandler(slogOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Every change is made for a user, as the gateway names them.
	ctx := paas.WithActor(context.Background(), "tester")
	const app, canary = "evt", "canary-5f1d9e0b7a"
	mark := filepath.Join(t.TempDir(), "unhealthy")
	if err := os.WriteFile(mark, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	if _, err := h.svc.EnsureApp(ctx, app, "tester"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SetConfig(ctx, app, "tester", map[string]string{"SECRET_TOKEN": canary}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		// The command quotes the secret: its start events must mask it.
		"Procfile":  "web: python3 server.py " + canary + "\n",
		"server.py": flakyServer,
		"app.json":  `{"healthchecks": {"web": [{"path": "/health", "attempts": 1, "wait": 1, "timeout": 2}]}}`,
	}
	real := h.svc.cfg.Builder
	h.svc.cfg.Builder = leakyBuilder{real}
	if err := h.deploy(app, files); err == nil {
		t.Fatal("a failing build deployed")
	}
	h.svc.cfg.Builder = real
	if err := h.deploy(app, files); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Scale(ctx, app, map[string]int{"web": 2}, io.Discard); err != nil {
		t.Fatal(err)
	}
	h.router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://"+app+".localhost/crash", nil))
	waitUntil(t, "a restart after the crash", func() bool {
		for _, p := range h.ps(app) {
			if p.Restarts >= 1 && p.State == "up" {
				return true
			}
		}
		return false
	})
	if _, err := h.svc.SetConfig(ctx, app, "tester", map[string]string{"MARK": mark}, nil, io.Discard); err == nil {
		t.Fatal("a release failing its health check went live")
	}
	if _, err := h.svc.SetConfig(ctx, app, "tester", map[string]string{"COLOUR": "blue"}, []string{"MARK"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Rollback(ctx, app, "tester", 1, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Restart(ctx, app, "web.2", io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{true, false} {
		if err := h.svc.SetMaintenance(ctx, app, on); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.SetLimits(ctx, app, "web", paas.Limits{Memory: 256 << 20}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.SetStopTimeout(ctx, app, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, stopped := range []bool{true, false} {
		if err := h.svc.SetStopped(ctx, app, "web", stopped, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.svc.AddDomain(ctx, app, "www.evt.test"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RemoveDomain(ctx, app, "www.evt.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SetProxy(ctx, app, map[string]string{"hsts": "true"}); err != nil {
		t.Fatal(err)
	}

	all := h.logs.Tail(app, -1, logs.Filter{})
	var events []logs.Line
	var dump strings.Builder
	for _, l := range all {
		fmt.Fprintf(&dump, "%s (release %d)\n", l, l.Release)
		if strings.Contains(l.Text, canary) {
			t.Errorf("config value in the stream: %s", l)
		}
		if l.Source == logs.SourcePaas && (l.Proc == "deploy" || l.Proc == "api") {
			events = append(events, l)
		}
		// A change a user made is paas[api]; what paasd does itself,
		// paas[deploy].
		if l.Source == logs.SourcePaas && strings.Contains(l.Text, "by tester") != (l.Proc == "api") {
			t.Errorf("paas[%s] line: %s", l.Proc, l.Text)
		}
	}
	if strings.Contains(slogOut.String(), canary) {
		t.Errorf("config value in the service log:\n%s", slogOut.String())
	}
	want := []struct {
		text    string
		release int
	}{
		{"Config vars changed by tester: set SECRET_TOKEN", 0},
		{"Build 1 started by tester (commit 0123456)", 0},
		{"Build 1 failed after ", 0},
		{"compile failed: environment was map[SECRET_TOKEN:***]", 0},
		{"Build 2 finished in ", 0},
		{"Release v1 created by tester: Deploy 0123456", 1},
		{"web.1 started (v1): python3 server.py ***", 1},
		{"Release v1 is live", 1},
		{"Scaled to web=2 by tester", 1},
		{"web.2 started (v1)", 1},
		{" crashed with status 3; restarting in 0s", 1},
		{" restarted in 0s (v1, restart 1)", 1},
		{"Config vars changed by tester: set MARK", 2},
		{"Release v2 created by tester: Set MARK config vars", 2},
		// Whichever instance fails first cancels the other's check.
		{`Health check of web.`, 2},
		{`failed its health check "GET /health": status 500`, 2},
		{"Release v2 failed: ", 2},
		// MARK went with the failed v2: unsetting it changes nothing.
		{"Config vars changed by tester: set COLOUR", 3},
		{"Release v3 is live", 3},
		{"web.1 stopped (v1)", 1},
		{"Release v4 created by tester: Rollback to v1", 4},
		{"web.2 stopped (v3)", 3},
		{"Restarting 1 instance(s) by tester", 4},
		{"Maintenance mode on by tester", 4},
		{"Maintenance mode off by tester", 4},
		{"Limits of web set to memory=256m by tester", 4},
		{"Stop timeout set to 3s by tester", 4},
		{"Stopped web by tester", 4},
		{"Started web by tester", 4},
		{"Domain www.evt.test added by tester", 0},
		{"Domain www.evt.test removed by tester", 0},
		{"Router settings changed by tester: hsts=true", 0},
	}
	for _, w := range want {
		found := false
		for _, l := range events {
			if strings.Contains(l.Text, w.text) && l.Release == w.release {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no platform line %q of release %d", w.text, w.release)
		}
	}
	if t.Failed() {
		t.Logf("stream:\n%s", dump.String())
	}
}

// TestScrubCoversReleasesBeingRolledOut checks that the values of a
// release not yet current are masked while it rolls out, along with the
// app's current config and each line of a multi-line value.
func TestScrubCoversReleasesBeingRolledOut(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateApp("scrub", "tester"); err != nil {
		t.Fatal(err)
	}
	pem := "-----BEGIN KEY-----\nMIIBVwIBADANBgkqhkiG\n-----END KEY-----"
	if _, err := st.ChangeConfig("scrub", map[string]string{"CURRENT": "current-secret", "PEM": pem, "SHORT": "abc"}, nil, "tester"); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: st, Logs: logs.New(10)})
	text := "current-secret pending-secret MIIBVwIBADANBgkqhkiG abc"
	if got, want := s.scrub("scrub", text), "*** pending-secret *** abc"; got != want {
		t.Fatalf("scrub = %q, want %q", got, want)
	}
	done := s.rollingConfig("scrub", map[string]string{"NEW": "pending-secret"})
	if got, want := s.scrub("scrub", text), "*** *** *** abc"; got != want {
		t.Fatalf("while rolling out: scrub = %q, want %q", got, want)
	}
	done()
	if got, want := s.scrub("scrub", text), "*** pending-secret *** abc"; got != want {
		t.Fatalf("after the roll-out: scrub = %q, want %q", got, want)
	}
	// An event is one line whatever its arguments hold.
	s.event("scrub", "reason: %s", "first\nsecond current-secret")
	lines := s.cfg.Logs.Tail("scrub", -1, logs.Filter{})
	if len(lines) != 1 || lines[0].Text != "reason: first second ***" || lines[0].Source != logs.SourcePaas || lines[0].Proc != "deploy" {
		t.Fatalf("event lines = %+v", lines)
	}
}
