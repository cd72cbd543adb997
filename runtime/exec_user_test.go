package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"paas/internal/owner"
	"paas/internal/syncbuf"
)

// Users of the apps in these tests: numbers no account on the machine is
// expected to have.
var testCreds = map[string]*syscall.Credential{
	"a": {Uid: 123471, Gid: 123472},
	"b": {Uid: 123481, Gid: 123482},
}

// userExec is an Exec whose apps run as their testCreds users, and a
// directory the tests' slugs live in, reachable by those users.
func userExec(t *testing.T) (*Exec, *sink, *exits, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running processes as other users needs root (CAP_SETUID)")
	}
	s, x := newSink(), newExits()
	e := NewExec(ExecConfig{Logs: s, OnExit: x.onExit, Credential: func(app string) (*syscall.Credential, error) {
		c := testCreds[app]
		if c == nil {
			return nil, fmt.Errorf("no user for %s", app)
		}
		return c, nil
	}})
	t.Cleanup(func() {
		if err := e.Shutdown(t.Context(), time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	dir := t.TempDir()
	// The test's temporary directories are closed to other users; the
	// apps' users must pass through them to their slugs.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return e, s, x, dir
}

// rootSlug makes a slug as a build before apps had users left it: owned
// by root and readable by everyone.
func rootSlug(t *testing.T, parent, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, content := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestExecRunsAsAppUser(t *testing.T) {
	e, sink, x, base := userExec(t)
	slugA := rootSlug(t, base, "a", map[string]string{"lib/code": "a's code"})
	slugB := rootSlug(t, base, "b", map[string]string{"secret": "b's secret"})
	// b runs first, so that its slug becomes b's.
	if code, err := e.Run(t.Context(), Spec{App: "b", Slug: slugB, Command: "true"}, Stdio{}); err != nil || code != 0 {
		t.Fatalf("b's one-off: status %d, %v", code, err)
	}

	script := fmt.Sprintf(`echo "id $(id -u) $(id -g) $(id -G)"
echo "own $(cat lib/code)"
echo written > "$HOME/new" && echo "wrote"
cat %s/secret >/dev/null 2>&1 || echo "no b"
cat /proc/%d/environ >/dev/null 2>&1 || echo "no parent environ"
sleep 1000 & echo $! > "$HOME/child"; echo ready; wait`, slugB, os.Getpid())
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: slugA, Command: script})
	if err != nil {
		t.Fatal(err)
	}
	sink.waitLine(t, "a", "worker.1", "ready")
	got := strings.Join(sink.get("a", "worker.1"), "\n")
	want := "id 123471 123472 123472\nown a's code\nwrote\nno b\nno parent environ\nready"
	if got != want {
		t.Errorf("instance of a printed\n%s\nwant\n%s", got, want)
	}
	for _, p := range []string{slugA, filepath.Join(slugA, "lib"), filepath.Join(slugA, "lib", "code"), filepath.Join(slugA, "new")} {
		if mine, err := owner.Owns(p, 123471); err != nil || !mine {
			t.Errorf("%s is not a's (%v)", p, err)
		}
	}
	if fi, err := os.Stat(slugA); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("a's slug: %v, %v; want mode 0700", fi.Mode(), err)
	}

	// Stopping still ends the whole group, the user's own children too.
	child := readPid(t, filepath.Join(slugA, "child"))
	if processGone(child) {
		t.Fatal("child not running before stop")
	}
	if err := e.Stop(t.Context(), inst.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	x.wait(t, inst.ID)
	waitFor(t, "child to die", func() bool { return processGone(child) })
}

func TestRunAsAppUser(t *testing.T) {
	e, _, _, base := userExec(t)
	dir := rootSlug(t, base, "a", nil)
	var out syncbuf.Buffer
	code, err := e.Run(t.Context(), Spec{App: "a", Slug: dir, Command: `id -u; id -G`}, Stdio{Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("status %d, %v", code, err)
	}
	if out.String() != "123471\n123472\n" {
		t.Errorf("one-off printed %q, want a's uid and only its group", out.String())
	}

	// On a terminal, which is the user's own.
	var tout syncbuf.Buffer
	code, err = e.Run(t.Context(), Spec{App: "a", Slug: dir, Command: `id -u; stat -c %u "$(tty)"; echo hi > "$(tty)"`},
		Stdio{TTY: true, Stdout: &tout})
	if err != nil || code != 0 {
		t.Fatalf("status %d, %v", code, err)
	}
	got := strings.ReplaceAll(tout.String(), "\r\n", "\n")
	if !regexp.MustCompile(`^123471\n123471\nhi\n$`).MatchString(got) {
		t.Errorf("one-off on a terminal printed %q", got)
	}
}

func TestExecCredentialFailure(t *testing.T) {
	e, _, _, base := userExec(t)
	dir := rootSlug(t, base, "c", nil)
	if _, err := e.Start(t.Context(), Spec{App: "c", Type: "web", Index: 1, Web: true, Slug: dir, Command: "sleep 100"}); err == nil ||
		!strings.Contains(err.Error(), "no user for c") {
		t.Errorf("Start without a user: %v", err)
	}
	if _, err := e.Run(t.Context(), Spec{App: "c", Slug: dir, Command: "true"}, Stdio{}); err == nil {
		t.Error("Run without a user ran")
	}
	if len(e.List("")) != 0 {
		t.Errorf("instances after failed starts: %v", e.List(""))
	}
}
