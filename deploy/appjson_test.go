package deploy

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/gateway"
	"paas/internal/syncbuf"
	"paas/logs"
)

// deployOut pushes a tree of files to app and returns what the push shows.
func (h *harness) deployOut(app string, files map[string]string) (string, error) {
	h.t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	ctx := context.Background()
	if _, err := h.svc.EnsureApp(ctx, app, "tester"); err != nil {
		h.t.Fatal(err)
	}
	out := &syncbuf.Buffer{}
	err := h.svc.Deploy(ctx, gateway.DeployRequest{App: app, Commit: "0123456789abcdef0123456789abcdef01234567", Source: &buf, Out: out, By: "tester"})
	return out.String(), err
}

func (h *harness) appLines(app, proc string) string {
	var b strings.Builder
	for _, l := range h.logs.Tail(app, -1, logs.Filter{Proc: proc}) {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

// TestAppJSONFormationAndPostdeployOnFirstDeploy: the first deploy starts
// app.json's formation with its sizes as memory limits and runs the
// postdeploy script once, with the app's config, its output on the push
// and in the log; later deploys keep the counts ps:scale set and do not
// run it again.
func TestAppJSONFormationAndPostdeployOnFirstDeploy(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	mark := filepath.Join(t.TempDir(), "seeded")
	ctx := context.Background()
	if _, err := h.svc.EnsureApp(ctx, "formed", "tester"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SetConfig(ctx, "formed", "tester", map[string]string{"MARK": mark, "GREETING": "seeded-by-postdeploy"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"Procfile":        webProc + "worker: sleep 300\n",
		"site/index.html": "formed",
		"app.json": `{
  // as Heroku writes it
  "formation": {
    "web": {"quantity": 2, "size": "standard-2x"},
    "worker": {"quantity": 1},
  },
  "scripts": {"postdeploy": "echo $GREETING; echo run >> \"$MARK\""},
}`,
	}
	out, err := h.deployOut("formed", files)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ps := h.ps("formed")
	for _, name := range []string{"web.1", "web.2", "worker.1"} {
		if _, ok := ps[name]; !ok {
			t.Errorf("%s not running after the first deploy: %v", name, ps)
		}
	}
	if len(ps) != 3 {
		t.Errorf("ps %v, want web.1, web.2, worker.1", ps)
	}
	a, err := h.svc.App(ctx, "formed")
	if err != nil {
		t.Fatal(err)
	}
	if a.Limits["web"].Memory != 1<<30 {
		t.Errorf("web limits %v, want memory=1g from standard-2x", a.Limits["web"])
	}
	live := strings.Index(out, "Release v1 is live")
	post := strings.Index(out, "-----> Running postdeploy command: ")
	if live < 0 || post < live || !strings.Contains(out[post:], "seeded-by-postdeploy\n") {
		t.Fatalf("push output does not show the postdeploy after the release went live:\n%s", out)
	}
	if !strings.Contains(h.appLines("formed", "postdeploy.1"), "seeded-by-postdeploy") {
		t.Errorf("postdeploy output not in the log: %q", h.appLines("formed", "postdeploy.1"))
	}

	// Later deploys: ps:scale wins, and postdeploy is not run again.
	if err := h.svc.Scale(ctx, "formed", map[string]int{"web": 1, "worker": 0}, io.Discard); err != nil {
		t.Fatal(err)
	}
	files["site/index.html"] = "formed again"
	out, err = h.deployOut("formed", files)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if ps := h.ps("formed"); len(ps) != 1 || ps["web.1"].Release != 2 {
		t.Errorf("ps after the second deploy %v, want web.1 of v2 only", ps)
	}
	if strings.Contains(out, "Running postdeploy") {
		t.Errorf("second deploy ran the postdeploy:\n%s", out)
	}
	data, err := os.ReadFile(mark)
	if err != nil || string(data) != "run\n" {
		t.Errorf("postdeploy marks %q (%v), want one run", data, err)
	}
	if code, body := h.get("formed"); code != 200 || body != "formed again" {
		t.Errorf("GET: %d %q", code, body)
	}
}

// TestPostdeployFailureKeepsTheRelease: a failing postdeploy is reported
// on the push and in the events; the release stays live.
func TestPostdeployFailureKeepsTheRelease(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	out, err := h.deployOut("seedfail", map[string]string{
		"Procfile":        webProc,
		"site/index.html": "up",
		"app.json":        `{"scripts": {"postdeploy": "echo seeding; exit 7"}}`,
	})
	if err != nil {
		t.Fatalf("deploy failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, " !     postdeploy failed: \"echo seeding; exit 7\" exited with status 7; v1 stays live and postdeploy is not run again\n") {
		t.Errorf("push output:\n%s", out)
	}
	a, err := h.svc.App(context.Background(), "seedfail")
	if err != nil {
		t.Fatal(err)
	}
	if a.Release != 1 {
		t.Errorf("current release %d, want 1", a.Release)
	}
	if code, body := h.get("seedfail"); code != 200 || body != "up" {
		t.Errorf("GET: %d %q", code, body)
	}
	if !strings.Contains(h.appLines("seedfail", eventProc), "Postdeploy of v1 failed: postdeploy failed") {
		t.Errorf("events:\n%s", h.appLines("seedfail", eventProc))
	}
}

// TestHealthcheckContent: a health check's content must be in the body.
func TestHealthcheckContent(t *testing.T) {
	h := newHarness(t, 20*time.Second)
	files := map[string]string{
		"Procfile":        webProc,
		"site/index.html": "starting up",
		"app.json":        `{"healthchecks": {"web": [{"path": "/", "content": "all systems go", "attempts": 2, "wait": 1}]}}`,
	}
	out, err := h.deployOut("content", files)
	msg, _ := paas.UserMessage(err)
	if !strings.Contains(msg, `web.1 failed its health check "GET /": status 200, but the body does not contain "all systems go"`) {
		t.Fatalf("deploy without the content: %v\n%s", err, out)
	}
	files["site/index.html"] = "all systems go"
	if out, err := h.deployOut("content", files); err != nil {
		t.Fatalf("deploy with the content: %v\n%s", err, out)
	}
	if code, body := h.get("content"); code != 200 || body != "all systems go" {
		t.Errorf("GET: %d %q", code, body)
	}
}

// TestWebThatNeverListens: the error names $PORT's value and the push
// shows progress while it waits.
func TestWebThatNeverListens(t *testing.T) {
	h := newHarness(t, 7*time.Second)
	out, err := h.deployOut("deaf", map[string]string{"Procfile": "web: sleep 60\n"})
	msg, _ := paas.UserMessage(err)
	m := regexp.MustCompile(`^web\.1 did not listen on \$PORT \(([0-9]+)\) within 7s`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("error %q, want one naming the port", err)
	}
	for _, want := range []string{"       waiting for web.1 to listen on port " + m[1] + " (5s)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
}

// TestWorkerOnlyAppRunsItsWorker: a Node app with no start script whose
// Procfile declares only a worker deploys and runs its worker, not the
// buildpack's default web (npm start).
func TestWorkerOnlyAppRunsItsWorker(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	out, err := h.deployOut("workeronly", map[string]string{
		"package.json": `{"name": "worker-only", "version": "1.0.0", "private": true}`,
		"worker.js":    "console.log('working'); setInterval(() => {}, 1000);\n",
		"Procfile":     "worker: node worker.js\n",
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ps := h.ps("workeronly")
	if len(ps) != 1 || ps["worker.1"].State != "up" {
		t.Fatalf("ps %v, want worker.1 up only", ps)
	}
	waitUntil(t, "the worker's output", func() bool { return strings.Contains(h.appLines("workeronly", "worker.1"), "working") })
}
