package runtime

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// helperEnv names the variable that turns the test binary into a helper
// program run as an instance.
const helperEnv = "PAAS_RUNTIME_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "web":
		serveEnv()
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// serveEnv serves the process's environment as JSON on $PORT.
func serveEnv() {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", os.Getenv("PORT")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", l.Addr())
	err = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		wd, _ := os.Getwd()
		env["__cwd"] = wd
		_ = json.NewEncoder(w).Encode(env)
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// sink records lines per instance.
type sink struct {
	mu    sync.Mutex
	lines map[string][]string // "app/instance" → lines
}

func newSink() *sink { return &sink{lines: map[string][]string{}} }

func (s *sink) Lines(app, instance string, release int, lines [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := app + "/" + instance
	for _, l := range lines {
		s.lines[k] = append(s.lines[k], string(l))
	}
}

func (s *sink) get(app, instance string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines[app+"/"+instance]...)
}

// waitLine polls until instance has written want.
func (s *sink) waitLine(t *testing.T, app, instance, want string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("line %q from %s", want, instance), func() bool {
		for _, l := range s.get(app, instance) {
			if l == want {
				return true
			}
		}
		return false
	})
}

// exits collects OnExit reports.
type exits struct {
	mu   sync.Mutex
	byID map[string]Exit
	ch   chan Exit
}

func newExits() *exits { return &exits{byID: map[string]Exit{}, ch: make(chan Exit, 100)} }

func (x *exits) onExit(e Exit) {
	x.mu.Lock()
	x.byID[e.Instance.ID] = e
	x.mu.Unlock()
	x.ch <- e
}

// wait returns the exit of id, waiting up to a deadline.
func (x *exits) wait(t *testing.T, id string) Exit {
	t.Helper()
	var e Exit
	waitFor(t, "exit of "+id, func() bool {
		x.mu.Lock()
		defer x.mu.Unlock()
		var ok bool
		e, ok = x.byID[id]
		return ok
	})
	return e
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testExec returns a runtime whose lines and exits the test sees, shut
// down at the end of the test.
func testExec(t *testing.T) (*Exec, *sink, *exits) {
	t.Helper()
	s, x := newSink(), newExits()
	e := NewExec(ExecConfig{Logs: s, OnExit: x.onExit})
	t.Cleanup(func() {
		if err := e.Shutdown(t.Context(), time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return e, s, x
}

// slug makes a slug directory with the given files (path → content).
func slug(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := dir + "/" + name
		if err := os.MkdirAll(p[:strings.LastIndex(p, "/")], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// processGone reports whether pid no longer runs (absent or a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}
