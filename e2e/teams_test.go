package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// member is a user of the team test with a key of their own.
type member struct {
	name    string
	keyFile string
	pub     string
}

// newMember makes a key pair for name in the test's dir.
func (s *server) newMember(name string) member {
	s.t.Helper()
	key := filepath.Join(s.t.TempDir(), name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@laptop", "-f", key).CombinedOutput(); err != nil {
		s.t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		s.t.Fatal(err)
	}
	return member{name: name, keyFile: key, pub: string(pub)}
}

// sshCommandFor is the ssh client invocation with key.
func sshCommandFor(key string) string {
	return "ssh -i " + key + " -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
}

// sshAs runs one server command over the real OpenSSH client with m's
// key and stdin.
func (s *server) sshAs(m member, stdin, command string) result {
	s.t.Helper()
	args := append(strings.Fields(sshCommandFor(m.keyFile))[1:], "-p", s.port(), "paas@127.0.0.1", command)
	return s.run("", stdin, "ssh", args...)
}

// gitAs runs git in dir with m's key.
func (s *server) gitAs(m member, dir string, args ...string) result {
	s.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(s.env(), "GIT_SSH_COMMAND="+sshCommandFor(m.keyFile))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return result{out.String(), errb.String(), ee.ExitCode()}
	}
	if err != nil {
		s.t.Fatalf("git %v: %v", args, err)
	}
	return result{out.String(), errb.String(), 0}
}

// follow starts `logs APP -t` as m and returns its first line's reader
// and the running ssh.
func (s *server) follow(m member, app string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	s.t.Helper()
	args := append(strings.Fields(sshCommandFor(m.keyFile))[1:], "-p", s.port(), "paas@127.0.0.1", "logs "+app+" -t")
	cmd := exec.Command("ssh", args...)
	cmd.Env = s.env()
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	br := bufio.NewReader(out)
	if _, err := br.ReadString('\n'); err != nil {
		s.t.Fatalf("logs -t as %s: %v (%s)", m.name, err, stderr.String())
	}
	return cmd, br, &stderr
}

// ended waits for a follow to end and returns its exit status.
func ended(t *testing.T, cmd *exec.Cmd, br *bufio.Reader) int {
	t.Helper()
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, br); cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the follow did not end within 20s")
	}
	return cmd.ProcessState.ExitCode()
}

// appCommands lists the server's commands that take APP first, from its
// help: the real command table.
func appCommands(t *testing.T, s *server) []string {
	t.Helper()
	r := s.ssh("help")
	requireOK(t, "help", r)
	var names []string
	for _, line := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(line)
		// apps:create's APP is the name of an app to be.
		if len(f) >= 2 && strings.HasPrefix(line, "  ") && f[1] == "APP" && f[0] != "apps:create" {
			names = append(names, f[0])
		}
	}
	if len(names) < 30 {
		t.Fatalf("help lists only %d app commands:\n%s", len(names), r.stdout)
	}
	return names
}

// TestTeams runs a team on one paasd, never restarted: the admin adds
// users over SSH; a member creates and pushes an app; a stranger is
// refused every command, push and clone of it exactly as for an app that
// does not exist, and does not see it; a collaborator pushes and
// configures but cannot destroy or share; access:remove and keys:remove
// take effect at once, ending what their sessions run.
func TestTeams(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	admin := member{name: "admin", keyFile: s.keyFile}
	bob, carol, dave := s.newMember("bob"), s.newMember("carol"), s.newMember("dave")
	const app, ghost = "teams-shop", "teams-ghost"

	// The admin adds users while paasd runs.
	for _, m := range []member{bob, carol, dave} {
		r := s.sshAs(admin, m.pub, "keys:add "+m.name)
		requireOK(t, "keys:add "+m.name, r)
		if !strings.Contains(r.stdout, "to "+m.name+" (member)") {
			t.Fatalf("keys:add %s: %q", m.name, r.stdout)
		}
	}
	requireFail(t, "keys:add of bob's key to another user", s.sshAs(admin, bob.pub, "keys:add eve"), "already belongs to user bob")
	requireFail(t, "keys:add by a member", s.sshAs(bob, carol.pub, "keys:add eve"), "permission denied")
	r := s.sshAs(bob, "", "whoami")
	requireOK(t, "whoami", r)
	if !strings.Contains(r.stdout, "user:  bob\n") || !strings.Contains(r.stdout, "role:  member\n") {
		t.Fatalf("whoami as bob:\n%s", r.stdout)
	}

	// bob creates the app with his first push.
	dir := s.newRepo("python", app)
	r = s.gitAs(bob, dir, "push", "paas", "main")
	requireOK(t, "bob's push", r)
	s.mustGet(app, "/", "hello one from web.1 v1")
	r = s.sshAs(bob, "", "access "+app)
	if r.code != 0 || r.stdout != "USER  ROLE\nbob   owner\n" {
		t.Fatalf("access as bob: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// dave, a stranger, sees nothing of it: every app command answers as
	// for an app that does not exist.
	if r := s.sshAs(dave, "", "apps"); r.code != 0 || r.stdout != "" {
		t.Errorf("apps as dave: %d %q", r.code, r.stdout)
	}
	if r := s.sshAs(admin, "", "apps"); !strings.Contains(r.stdout, app) {
		t.Errorf("apps as the admin lacks %s: %q", app, r.stdout)
	}
	for _, c := range appCommands(t, s) {
		hidden := s.sshAs(dave, "", c+" "+app)
		missing := s.sshAs(dave, "", c+" "+ghost)
		want := "paas: app " + app + " not found\n"
		if hidden.code != 1 || hidden.stdout != "" || hidden.stderr != want {
			t.Errorf("%s as dave: %d %q %q, want %q", c, hidden.code, hidden.stdout, hidden.stderr, want)
		}
		if hidden.code != missing.code || hidden.stdout != missing.stdout || hidden.stderr != strings.ReplaceAll(missing.stderr, ghost, app) {
			t.Errorf("%s: a hidden app answers %+v, a missing one %+v", c, hidden, missing)
		}
	}
	clone := filepath.Join(t.TempDir(), "dave-clone")
	r = s.gitAs(dave, "", "clone", "ssh://paas@127.0.0.1:"+s.port()+"/"+app, clone)
	if r.code == 0 || !strings.Contains(r.stderr, "paas: app "+app+" not found") {
		t.Errorf("dave clones %s: %d\n%s", app, r.code, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte("print('dave was here')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.commitAll(dir, "dave's change")
	r = s.gitAs(dave, dir, "push", "paas", "main")
	if r.code == 0 || !strings.Contains(r.stderr, "paas: app "+app+" not found") {
		t.Errorf("dave pushes %s: %d\n%s", app, r.code, r.stderr)
	}
	s.git(dir, "reset", "-q", "--hard", "HEAD~1")
	s.mustGet(app, "/", "hello one from web.1 v1")

	// carol collaborates: she pushes and configures, and may not destroy
	// or share.
	requireOK(t, "access:add", s.sshAs(bob, "", "access:add "+app+" carol"))
	r = s.sshAs(carol, "", "config:set "+app+" GREETING=hi")
	requireOK(t, "config:set as carol", r)
	s.mustGet(app, "/", "hi one from web.1 v2")
	if err := os.WriteFile(filepath.Join(dir, "NOTES"), []byte("carol's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.commitAll(dir, "carol's change")
	requireOK(t, "carol's push", s.gitAs(carol, dir, "push", "paas", "main"))
	s.mustGet(app, "/", "hi one from web.1 v3")
	r = s.sshAs(carol, "", "releases "+app)
	requireOK(t, "releases", r)
	if !strings.Contains(r.stdout, "v3") || !strings.Contains(r.stdout, "carol") || !strings.Contains(r.stdout, "bob") {
		t.Errorf("releases do not name who made them:\n%s", r.stdout)
	}
	requireFail(t, "apps:destroy by a collaborator", s.sshAs(carol, "", "apps:destroy "+app+" --confirm "+app), "only the owner of "+app+" may destroy it")
	requireFail(t, "access:add by a collaborator", s.sshAs(carol, "", "access:add "+app+" dave"), "permission denied")
	s.mustGet(app, "/", "hi one from web.1 v3")

	// access:remove at once: carol's follow ends, her next command and
	// her clone are refused as a stranger's.
	follow, br, stderr := s.follow(carol, app)
	requireOK(t, "access:remove", s.sshAs(bob, "", "access:remove "+app+" carol"))
	if st := ended(t, follow, br); st != 1 || stderr.String() != "paas: app "+app+" not found\n" {
		t.Errorf("carol's follow after access:remove: status %d, stderr %q", st, stderr.String())
	}
	requireFail(t, "config as carol after access:remove", s.sshAs(carol, "", "config "+app), "paas: app "+app+" not found")
	r = s.gitAs(carol, "", "clone", "ssh://paas@127.0.0.1:"+s.port()+"/"+app, filepath.Join(t.TempDir(), "carol-clone"))
	if r.code == 0 || !strings.Contains(r.stderr, "paas: app "+app+" not found") {
		t.Errorf("carol clones after access:remove: %d\n%s", r.code, r.stderr)
	}

	// keys:remove at once: bob's follow ends with his connection, and his
	// key logs in no more.
	follow, br, _ = s.follow(bob, app)
	keys := s.sshAs(bob, "", "keys")
	requireOK(t, "keys as bob", keys)
	fp := ""
	for _, f := range strings.Fields(keys.stdout) {
		if strings.HasPrefix(f, "SHA256:") {
			fp = f
		}
	}
	if fp == "" || strings.Count(keys.stdout, "SHA256:") != 1 {
		t.Fatalf("keys as bob:\n%s", keys.stdout)
	}
	requireOK(t, "keys:remove", s.sshAs(admin, "", "keys:remove bob "+fp))
	if st := ended(t, follow, br); st != 255 {
		t.Errorf("bob's follow after keys:remove: status %d, want 255 (connection closed)", st)
	}
	r = s.sshAs(bob, "", "whoami")
	if r.code != 255 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("bob's removed key logs in: %d %q %q", r.code, r.stdout, r.stderr)
	}

	select {
	case <-s.done:
		t.Fatalf("paasd exited:\n%s", s.out.String())
	default:
	}
}
