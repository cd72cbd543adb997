package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStartWebEnvironment(t *testing.T) {
	t.Setenv("PAAS_RUNTIME_TEST_LEAK", "from-paasd")
	e, sink, x := testExec(t)
	dir := slug(t, map[string]string{
		".profile.d/10-a.sh":  "export ORDER=a\nexport FROM_PROFILE=yes\n",
		".profile.d/20-b.sh":  "export ORDER=\"$ORDER b\"\n",
		".profile.d/skip.txt": "export ORDER=wrong\n",
	})
	inst, err := e.Start(t.Context(), Spec{
		App: "envapp", Release: 4, Type: "web", Index: 1, Web: true, Slug: dir,
		Command: `exec "$HELPER_BIN"`,
		Env: map[string]string{
			"HELPER_BIN": os.Args[0],
			helperEnv:    "web",
			"GREETING":   "hello world",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inst.ID, "envapp.web.1.") || inst.Release != 4 || inst.Name() != "web.1" || inst.Started.IsZero() {
		t.Errorf("instance = %+v", inst)
	}
	if !strings.HasPrefix(inst.Addr, "127.0.0.1:") {
		t.Fatalf("addr = %q", inst.Addr)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := WaitListening(ctx, inst.Addr); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + inst.Addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(inst.Addr, ":")
	want := map[string]string{
		"PORT":         port,
		"HOME":         dir,
		"PATH":         dir + "/bin:" + DefaultBasePath,
		"GREETING":     "hello world",
		"ORDER":        "a b",
		"FROM_PROFILE": "yes",
		"__cwd":        dir,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if v, ok := env["PAAS_RUNTIME_TEST_LEAK"]; ok {
		t.Errorf("paasd's environment leaked into the instance: %q", v)
	}
	sink.waitLine(t, "envapp", "web.1", "listening on "+inst.Addr)

	if err := e.Stop(t.Context(), inst.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ex := x.wait(t, inst.ID)
	if !ex.Stopped || ex.Code != 128+15 || ex.Signal != "SIGTERM" || ex.Instance.ID != inst.ID || ex.At.IsZero() {
		t.Errorf("exit = %+v", ex)
	}
	if len(e.List("")) != 0 {
		t.Errorf("list after stop = %v", e.List(""))
	}
}

func TestEnvPathOverrideAndNoPort(t *testing.T) {
	e, sink, x := testExec(t)
	dir := slug(t, nil)
	inst, err := e.Start(t.Context(), Spec{
		App: "a", Type: "worker", Index: 1, Slug: dir,
		Command: `echo "path=$PATH port=${PORT-unset} home=$HOME"`,
		Env:     map[string]string{"PATH": "/usr/bin:/bin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Addr != "" {
		t.Errorf("worker has addr %q", inst.Addr)
	}
	x.wait(t, inst.ID)
	want := fmt.Sprintf("path=/usr/bin:/bin port=unset home=%s", dir)
	if got := sink.get("a", "worker.1"); len(got) != 1 || got[0] != want {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

func TestLinesInOrderBeforeExit(t *testing.T) {
	s := newSink()
	exitLines := make(chan int, 1)
	var e *Exec
	e = NewExec(ExecConfig{Logs: s, OnExit: func(ex Exit) {
		exitLines <- len(s.get(ex.Instance.App, ex.Instance.Name()))
	}})
	// stderr and stdout share the order the process wrote them in; a
	// 25,000-byte line arrives as three lines; the final line lacks a
	// newline.
	cmd := `for i in $(seq 1 2000); do echo "line $i"; done; echo "to stderr" >&2; ` +
		`head -c 25000 /dev/zero | tr '\0' x; echo; printf 'last'`
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 3, Slug: slug(t, nil), Command: cmd})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	select {
	case n = <-exitLines:
	case <-time.After(15 * time.Second):
		t.Fatal("no exit")
	}
	got := s.get("a", "worker.3")
	if n != len(got) || n != 2000+1+3+1 {
		t.Fatalf("%d lines at exit, %d in the end, want %d", n, len(got), 2005)
	}
	for i := range 2000 {
		if want := "line " + strconv.Itoa(i+1); got[i] != want {
			t.Fatalf("line %d = %q, want %q", i, got[i], want)
		}
	}
	if got[2000] != "to stderr" {
		t.Errorf("stderr line = %q", got[2000])
	}
	x := strings.Repeat("x", MaxLineLength)
	if got[2001] != x || got[2002] != x || got[2003] != x[:5000] || got[2004] != "last" {
		t.Errorf("long line pieces have lengths %d %d %d, then %q", len(got[2001]), len(got[2002]), len(got[2003]), got[2004])
	}
	if e.List("a") != nil {
		t.Errorf("exited instance listed: %v", e.List("a"))
	}
	_ = inst
}

func TestCrashReportsExitCode(t *testing.T) {
	e, sink, x := testExec(t)
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: slug(t, nil),
		Command: `echo dying; exit 3`})
	if err != nil {
		t.Fatal(err)
	}
	ex := x.wait(t, inst.ID)
	if ex.Code != 3 || ex.Stopped || ex.Err != nil {
		t.Errorf("exit = %+v", ex)
	}
	if got := sink.get("a", "worker.1"); len(got) != 1 || got[0] != "dying" {
		t.Errorf("lines = %q", got)
	}
	// Stopping an instance that is gone is not an error.
	if err := e.Stop(t.Context(), inst.ID, time.Second); err != nil {
		t.Errorf("stop after exit: %v", err)
	}
	if err := e.Stop(t.Context(), "no-such-id", time.Second); err != nil {
		t.Errorf("stop unknown: %v", err)
	}
}

// TestCrashBySignalReportsSignal reports an instance a signal ended as a
// shell and the engine do: status 128+N, and the signal's name.
func TestCrashBySignalReportsSignal(t *testing.T) {
	e, _, x := testExec(t)
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: slug(t, nil),
		Command: `kill -SEGV $$`})
	if err != nil {
		t.Fatal(err)
	}
	ex := x.wait(t, inst.ID)
	if ex.Code != 128+11 || ex.Signal != "SIGSEGV" || ex.Stopped || ex.Err != nil {
		t.Errorf("exit = %+v, want status 139 (SIGSEGV)", ex)
	}
}

func TestStopLetsProcessCleanUp(t *testing.T) {
	e, sink, x := testExec(t)
	dir := slug(t, nil)
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: dir,
		Command: `trap 'echo cleaned > "$HOME/cleaned"; echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done`})
	if err != nil {
		t.Fatal(err)
	}
	sink.waitLine(t, "a", "worker.1", "ready")
	start := time.Now()
	if err := e.Stop(t.Context(), inst.ID, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stop took %v although the process exits on SIGTERM", d)
	}
	if b, err := os.ReadFile(dir + "/cleaned"); err != nil || string(b) != "cleaned\n" {
		t.Errorf("cleanup file: %q, %v", b, err)
	}
	ex := x.wait(t, inst.ID)
	if !ex.Stopped || ex.Code != 0 {
		t.Errorf("exit = %+v", ex)
	}
	if got := sink.get("a", "worker.1"); got[len(got)-1] != "bye" {
		t.Errorf("lines = %q", got)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	e, sink, x := testExec(t)
	dir := slug(t, nil)
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: dir,
		Command: `trap '' TERM; sleep 1000 & echo $! > "$HOME/child"; echo ready; while :; do sleep 0.05; done`})
	if err != nil {
		t.Fatal(err)
	}
	sink.waitLine(t, "a", "worker.1", "ready")
	child := readPid(t, dir+"/child")
	const grace = 300 * time.Millisecond
	start := time.Now()
	if err := e.Stop(t.Context(), inst.ID, grace); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < grace {
		t.Errorf("stop returned after %v, before the grace period", d)
	}
	ex := x.wait(t, inst.ID)
	if !ex.Stopped || ex.Code != 128+9 || ex.Signal != "SIGKILL" {
		t.Errorf("exit = %+v", ex)
	}
	waitFor(t, "grandchild to die", func() bool { return processGone(child) })
}

func TestStopKillsGrandchildren(t *testing.T) {
	e, sink, x := testExec(t)
	dir := slug(t, nil)
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: dir,
		Command: `sleep 1000 & echo $! > "$HOME/child"; echo ready; wait`})
	if err != nil {
		t.Fatal(err)
	}
	sink.waitLine(t, "a", "worker.1", "ready")
	child := readPid(t, dir+"/child")
	if processGone(child) {
		t.Fatal("grandchild not running before stop")
	}
	if err := e.Stop(t.Context(), inst.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	x.wait(t, inst.ID)
	waitFor(t, "grandchild to die", func() bool { return processGone(child) })
}

func TestExitKillsLeftovers(t *testing.T) {
	e, _, x := testExec(t)
	dir := slug(t, nil)
	// The background sleep keeps the output pipe open; the instance still
	// ends when its command does.
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: dir,
		Command: `sleep 1000 & echo $! > "$HOME/child"; exit 5`})
	if err != nil {
		t.Fatal(err)
	}
	ex := x.wait(t, inst.ID)
	if ex.Code != 5 || ex.Stopped {
		t.Errorf("exit = %+v", ex)
	}
	child := readPid(t, dir+"/child")
	waitFor(t, "leftover to die", func() bool { return processGone(child) })
}

func TestListConcurrent(t *testing.T) {
	e, _, x := testExec(t)
	dir := slug(t, nil)
	start := func(app, typ string, index int) Instance {
		inst, err := e.Start(t.Context(), Spec{App: app, Type: typ, Index: index, Slug: dir,
			Command: "exec sleep 1000", Web: typ == "web"})
		if err != nil {
			t.Error(err)
		}
		return inst
	}
	var wg sync.WaitGroup
	for _, s := range []struct {
		app, typ string
		index    int
	}{{"b", "worker", 1}, {"a", "worker", 2}, {"a", "worker", 1}, {"a", "web", 2}, {"a", "web", 1}, {"a", "web", 10}} {
		wg.Go(func() {
			start(s.app, s.typ, s.index)
			_ = e.List("a")
		})
	}
	wg.Wait()
	var names []string
	ports := map[string]bool{}
	for _, in := range e.List("a") {
		names = append(names, in.Name())
		if in.Addr != "" {
			if ports[in.Addr] {
				t.Errorf("address %s handed out twice", in.Addr)
			}
			ports[in.Addr] = true
		}
	}
	if got, want := strings.Join(names, " "), "web.1 web.2 web.10 worker.1 worker.2"; got != want {
		t.Errorf("List(a) = %s, want %s", got, want)
	}
	all := e.List("")
	if len(all) != 6 {
		t.Fatalf("List(\"\") has %d instances", len(all))
	}
	for _, in := range all {
		wg.Go(func() {
			if err := e.Stop(t.Context(), in.ID, time.Second); err != nil {
				t.Error(err)
			}
			_ = e.List("")
		})
	}
	wg.Wait()
	if got := e.List(""); len(got) != 0 {
		t.Errorf("after stopping all: %v", got)
	}
	for _, in := range all {
		if ex := x.wait(t, in.ID); !ex.Stopped {
			t.Errorf("exit of %s = %+v", in.ID, ex)
		}
	}
}

func TestShutdownStopsEverything(t *testing.T) {
	x := newExits()
	e := NewExec(ExecConfig{OnExit: x.onExit})
	dir := slug(t, nil)
	// Each instance says when it ignores SIGTERM: one signalled before
	// its shell ran the trap would die of it.
	ready := t.TempDir()
	var ids []string
	for i := range 3 {
		inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: i + 1, Slug: dir,
			Command: fmt.Sprintf("trap '' TERM; : > %s/%d; while :; do sleep 0.05; done", ready, i+1)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inst.ID)
	}
	waitFor(t, "instances to ignore SIGTERM", func() bool {
		entries, _ := os.ReadDir(ready)
		return len(entries) == 3
	})
	oneoff := make(chan int, 1)
	go func() {
		code, _ := e.Run(context.Background(), Spec{App: "a", Slug: dir, Command: "exec sleep 1000"}, Stdio{})
		oneoff <- code
	}()
	waitFor(t, "one-off to start", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.oneoffs) == 1
	})
	const grace = 500 * time.Millisecond
	start := time.Now()
	if err := e.Shutdown(t.Context(), grace); err != nil {
		t.Fatal(err)
	}
	// In parallel: three instances that ignore SIGTERM take one grace
	// period, not three.
	if d := time.Since(start); d > 3*grace {
		t.Errorf("shutdown took %v", d)
	}
	for _, id := range ids {
		if ex := x.wait(t, id); !ex.Stopped || ex.Code != 128+9 {
			t.Errorf("exit = %+v", ex)
		}
	}
	if code := <-oneoff; code != 128+15 {
		t.Errorf("one-off status = %d, want 143", code)
	}
	if _, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 9, Slug: dir, Command: "true"}); err == nil {
		t.Error("start after shutdown succeeded")
	}
}

func TestStartRejectsBadSpecs(t *testing.T) {
	e, _, _ := testExec(t)
	dir := slug(t, map[string]string{"file": "x"})
	for name, s := range map[string]Spec{
		"no command":   {App: "a", Type: "web", Index: 1, Slug: dir},
		"no app":       {Type: "web", Index: 1, Slug: dir, Command: "true"},
		"missing slug": {App: "a", Type: "web", Index: 1, Slug: dir + "/nope", Command: "true"},
		"slug file":    {App: "a", Type: "web", Index: 1, Slug: dir + "/file", Command: "true"},
		"bad env":      {App: "a", Type: "web", Index: 1, Slug: dir, Command: "true", Env: map[string]string{"A=B": "c"}},
	} {
		if _, err := e.Start(t.Context(), s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if got := e.List(""); len(got) != 0 {
		t.Errorf("list = %v", got)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
