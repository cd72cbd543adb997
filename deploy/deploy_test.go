package deploy

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"paas"
	"paas/builder"
	"paas/gateway"
	"paas/logs"
	"paas/router"
	"paas/runtime"
	"paas/store"
)

// harness is a Service over the real store, builder, exec runtime, router
// and log aggregator.
type harness struct {
	t   *testing.T
	svc *Service
	// current is svc for the runtime's exit callback, which runs on the
	// runtime's goroutines: a test that starts a new Service sets both
	// with restart.
	current atomic.Pointer[Service]
	rt      *runtime.Exec
	router  *router.Router
	logs    *logs.Aggregator
	dir     string // holds the store, slugs and caches
	// exitHook, when set before the first deploy, sees every exit
	// before the Service does.
	exitHook func(*runtime.Exit)
}

// newHarness starts a harness; opts change the Service's Config before it
// is made.
func newHarness(t *testing.T, boot time.Duration, opts ...func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, logs: logs.New(1000), dir: dir}
	h.router = router.New(router.Config{Domain: "localhost"})
	h.rt = runtime.NewExec(runtime.ExecConfig{Logs: h.logs, OnExit: func(e runtime.Exit) {
		if h.exitHook != nil {
			h.exitHook(&e)
		}
		h.current.Load().OnExit(e)
	}})
	b, err := builder.New(builder.Config{
		BuildpacksDir: filepath.Join(dir, "buildpacks"),
		CacheDir:      filepath.Join(dir, "cache"),
		SlugsDir:      filepath.Join(dir, "slugs"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Runtime: h.rt, Builder: b, Router: h.router, Logs: h.logs, StopTimeout: 2 * time.Second, BootTimeout: boot}
	for _, o := range opts {
		o(&cfg)
	}
	h.restart(New(cfg))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.svc.Shutdown(ctx)
	})
	return h
}

// restart makes svc the harness's Service, as a new paasd on the same
// store and runtime.
func (h *harness) restart(svc *Service) {
	h.svc = svc
	h.current.Store(svc)
}

// deploy pushes a tree of files to app.
func (h *harness) deploy(app string, files map[string]string) error {
	h.t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	ctx := context.Background()
	if _, err := h.svc.EnsureApp(ctx, app, "tester"); err != nil {
		h.t.Fatal(err)
	}
	return h.svc.Deploy(ctx, gateway.DeployRequest{App: app, Commit: "0123456789abcdef0123456789abcdef01234567", Source: &buf, Out: io.Discard, By: "tester"})
}

func (h *harness) ps(app string) map[string]paas.Process {
	h.t.Helper()
	ps, err := h.svc.Processes(context.Background(), app)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]paas.Process{}
	for _, p := range ps {
		out[p.Name] = p
	}
	return out
}

func (h *harness) get(app string) (int, string) {
	req := httptest.NewRequest("GET", "http://"+app+".localhost/", nil)
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const webProc = "web: exec python3 -m http.server $PORT --bind 127.0.0.1 --directory site\n"

func TestCrashedInstanceIsRestarted(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("crashy", map[string]string{"Procfile": "worker: echo up $DYNO; sleep 0.2; exit 3\n"}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Scale(context.Background(), "crashy", map[string]int{"worker": 1}, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "two restarts", func() bool { return h.ps("crashy")["worker.1"].Restarts >= 2 })
	lines := h.logs.Tail("crashy", -1, logs.Filter{})
	var text strings.Builder
	for _, l := range lines {
		text.WriteString(l.String() + "\n")
	}
	for _, want := range []string{"app[worker.1]: up worker.1", "worker.1 crashed with status 3; restarting in 0s", "worker.1 crashed with status 3; restarting in 1s"} {
		if !strings.Contains(text.String(), want) {
			t.Fatalf("logs lack %q:\n%s", want, text.String())
		}
	}
	// Scaling to zero stops the restarts.
	if err := h.svc.Scale(context.Background(), "crashy", map[string]int{"worker": 0}, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "no instances", func() bool { return len(h.ps("crashy")) == 0 })
	time.Sleep(1500 * time.Millisecond) // longer than the pending backoff
	if ps := h.ps("crashy"); len(ps) != 0 {
		t.Fatalf("instances after scaling to 0: %v", ps)
	}
	if got := len(h.rt.List("crashy")); got != 0 {
		t.Fatalf("runtime still has %d instances", got)
	}
}

func TestScaleStartsAndStopsOnlyTheDifference(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	files := map[string]string{"Procfile": webProc, "site/index.html": "scaled"}
	if err := h.deploy("scaly", files); err != nil {
		t.Fatal(err)
	}
	if code, body := h.get("scaly"); code != 200 || body != "scaled" {
		t.Fatalf("GET = %d %q", code, body)
	}
	ids := func() map[string]string {
		out := map[string]string{}
		for _, in := range h.rt.List("scaly") {
			out[in.Name()] = in.ID
		}
		return out
	}
	before := ids()
	if err := h.svc.Scale(context.Background(), "scaly", map[string]int{"web": 3}, io.Discard); err != nil {
		t.Fatal(err)
	}
	mid := ids()
	if len(mid) != 3 || mid["web.1"] != before["web.1"] {
		t.Fatalf("scale up replaced web.1 or miscounted: before %v after %v", before, mid)
	}
	if err := h.svc.Scale(context.Background(), "scaly", map[string]int{"web": 1}, io.Discard); err != nil {
		t.Fatal(err)
	}
	after := ids()
	if len(after) != 1 || after["web.1"] != before["web.1"] {
		t.Fatalf("scale down: %v", after)
	}
	if err := h.svc.Scale(context.Background(), "scaly", map[string]int{"worker": 1}, io.Discard); err == nil {
		t.Fatal("scaling an undeclared process type succeeded")
	}
}

// TestScaleRefusesTheReleasePhase scales and sets limits of the release
// process type, which is no process to run but the release phase, and of
// an undeclared type: each is one line saying why, and the formation and
// limits stay.
func TestScaleRefusesTheReleasePhase(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	files := map[string]string{"Procfile": webProc + "release: true\n", "site/index.html": "phased"}
	if err := h.deploy("phased", files); err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string]string{
		"release": "release is the release phase, run once before each release goes live: it cannot be scaled",
		"worker":  "no worker process type in v1; it declares: web",
	} {
		err := h.svc.Scale(context.Background(), "phased", map[string]int{typ: 1}, io.Discard)
		if msg, ok := paas.UserMessage(err); !ok || msg != want {
			t.Errorf("scaling %s: %v, want %q", typ, err, want)
		}
	}
	for typ, want := range map[string]string{
		"release": "release is the release phase, run once before each release goes live: it cannot be given limits",
		"nope":    "no nope process type in v1; it declares: web",
	} {
		err := h.svc.SetLimits(context.Background(), "phased", typ, paas.Limits{Memory: 1 << 30}, io.Discard)
		if msg, ok := paas.UserMessage(err); !ok || msg != want {
			t.Errorf("limits of %s: %v, want %q", typ, err, want)
		}
	}
	a, err := h.svc.App(context.Background(), "phased")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Limits) != 0 {
		t.Errorf("limits after refused ps:set: %v", a.Limits)
	}
	if n := len(h.rt.List("phased")); n != 1 {
		t.Errorf("%d instances after refused scales, want 1", n)
	}
}

func TestFailedStartKeepsThePreviousRelease(t *testing.T) {
	h := newHarness(t, 2*time.Second)
	if err := h.deploy("steady", map[string]string{"Procfile": webProc, "site/index.html": "good"}); err != nil {
		t.Fatal(err)
	}
	// A web process that never listens fails the deploy after the boot
	// timeout; one that exits fails it at once.
	for proc, want := range map[string]string{
		"web: sleep 60\n":                  "web.1 did not listen on $PORT (",
		"web: exit 4\n":                    "web.1 exited with status 4 before listening",
		"web: no-such-command-x\n":         "status 127 (command not found: web runs no-such-command-x and the app has no no-such-command-x: check the Procfile and the buildpack)",
		"web: FOO=1 exec ruby-x main.rb\n": "web.1 exited with status 127 (command not found: web runs 'FOO=1 exec ruby-x main.rb' and the app has no ruby-x: check the Procfile and the buildpack) before listening on $PORT",
	} {
		err := h.deploy("steady", map[string]string{"Procfile": proc})
		if err == nil {
			t.Fatalf("%q deployed", proc)
		}
		if msg, ok := paas.UserMessage(err); !ok || !strings.Contains(msg, want) {
			t.Fatalf("%q: error %q, want a user message containing %q", proc, err, want)
		}
		if code, body := h.get("steady"); code != 200 || body != "good" {
			t.Fatalf("after failed deploy: %d %q", code, body)
		}
		app, _ := h.svc.App(context.Background(), "steady")
		if app.Release != 1 {
			t.Fatalf("current release %d after failed deploy, want 1", app.Release)
		}
		if ps := h.ps("steady"); len(ps) != 1 || ps["web.1"].Release != 1 {
			t.Fatalf("ps after failed deploy: %v", ps)
		}
	}
	// A config change restarts the instances with the new release.
	rel, err := h.svc.SetConfig(context.Background(), "steady", "tester", map[string]string{"A": "1"}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if ps := h.ps("steady"); ps["web.1"].Release != rel.Version {
		t.Fatalf("web.1 runs v%d, want v%d", ps["web.1"].Release, rel.Version)
	}
	if code, _ := h.get("steady"); code != 200 {
		t.Fatalf("after config change: %d", code)
	}
}

// flakyServer crashes on /crash and fails its health check while the file
// named by $MARK exists.
const flakyServer = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/crash":
            os._exit(3)
        ok = self.path != "/health" or not os.path.exists(os.environ.get("MARK", "/nonexistent"))
        self.send_response(200 if ok else 500)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

func TestUnhealthyRestartIsRetried(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	mark := filepath.Join(t.TempDir(), "unhealthy")
	files := map[string]string{
		"Procfile":  "web: python3 server.py\n",
		"server.py": flakyServer,
		"app.json":  `{"healthchecks": {"web": [{"path": "/health", "attempts": 2, "wait": 1, "timeout": 1}]}}`,
	}
	if err := h.deploy("flaky", files); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SetConfig(context.Background(), "flaky", "tester", map[string]string{"MARK": mark}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mark, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	crash := httptest.NewRequest("GET", "http://flaky.localhost/crash", nil)
	h.router.ServeHTTP(httptest.NewRecorder(), crash)
	waitUntil(t, "an unhealthy restart", func() bool {
		for _, l := range h.logs.Tail("flaky", -1, logs.Filter{Source: logs.SourcePaas}) {
			if strings.Contains(l.Text, "restarted but is not healthy") {
				return true
			}
		}
		return false
	})
	if code, _ := h.get("flaky"); code == 200 {
		t.Fatal("an unhealthy instance was routed")
	}
	os.Remove(mark)
	waitUntil(t, "a healthy restart", func() bool {
		p := h.ps("flaky")["web.1"]
		return p.State == "up" && p.Restarts >= 2
	})
	if code, body := h.get("flaky"); code != 200 || body != "ok" {
		t.Fatalf("after recovery: %d %q", code, body)
	}
}

// TestUnsetOfVarsNotSetChangesNothing unsets a var the app does not have:
// it is said, no release is made and no instance replaced; with one var
// that is set among them, only that one goes.
func TestUnsetOfVarsNotSetChangesNothing(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("unsetty", map[string]string{"Procfile": webProc, "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.svc.SetConfig(ctx, "unsetty", "tester", map[string]string{"KEEP": "1", "GO": "1"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	before, err := h.svc.Releases(ctx, "unsetty")
	if err != nil {
		t.Fatal(err)
	}
	ids := h.rt.List("unsetty")
	_, err = h.svc.SetConfig(ctx, "unsetty", "tester", nil, []string{"NOPE", "NADA"}, io.Discard)
	if msg, _ := paas.UserMessage(err); !errors.Is(err, paas.ErrUnchanged) || msg != "NOPE, NADA not set on unsetty: nothing changed" {
		t.Fatalf("unsetting vars not set: %v", err)
	}
	after, err := h.svc.Releases(ctx, "unsetty")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("%d releases after unsetting nothing, want %d", len(after), len(before))
	}
	if now := h.rt.List("unsetty"); len(now) != 1 || now[0].ID != ids[0].ID {
		t.Errorf("instances replaced by unsetting nothing: %v -> %v", ids, now)
	}
	rel, err := h.svc.SetConfig(ctx, "unsetty", "tester", nil, []string{"NOPE", "GO"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rel.Config["GO"]; ok || rel.Config["KEEP"] != "1" || len(rel.Config) != 1 {
		t.Errorf("config after unsetting GO and NOPE: %v", rel.Config)
	}
}

// TestRunProcessType runs a one-off named by a process type of the
// Procfile: its command runs, and any other word runs as a command.
func TestRunProcessType(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	files := map[string]string{"Procfile": webProc + "hello: echo hello from the $GREETING type\n", "site/index.html": "ok"}
	if err := h.deploy("runny", files); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.svc.SetConfig(ctx, "runny", "tester", map[string]string{"GREETING": "hello"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	for argv, want := range map[string]string{
		"hello": "hello from the hello type\n",
		"echo":  "\n",
	} {
		var out bytes.Buffer
		code, err := h.svc.Run(ctx, "runny", "tester", []string{argv}, runtime.Stdio{Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard})
		if err != nil || code != 0 || out.String() != want {
			t.Errorf("run %s: %d %v %q, want %q", argv, code, err, out.String(), want)
		}
	}
}
