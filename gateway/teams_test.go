package gateway

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// sshWith runs the OpenSSH client with key, stdin and a command line.
func (e *env) sshWith(key, stdin string, command ...string) (status int, stdout, stderr string) {
	e.t.Helper()
	saved := e.key
	e.key = key
	defer func() { e.key = saved }()
	return e.ssh(stdin, nil, command...)
}

// newUserKey makes a key pair in the test's dir and returns the private
// key's path, the public key line and its fingerprint.
func (e *env) newUserKey(name string) (path, pub, fp string) {
	e.t.Helper()
	path = filepath.Join(e.dir, name)
	k := genKey(e.t, path)
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		e.t.Fatal(err)
	}
	return path, string(b), gossh.FingerprintSHA256(k)
}

// addUser has alice (an admin) add a key for name over SSH.
func (e *env) addUserKey(name string, admin bool) (path, fp string) {
	e.t.Helper()
	path, pub, fp := e.newUserKey(name)
	cmd := []string{"keys:add", name}
	if admin {
		cmd = append(cmd, "--admin")
	}
	if st, out, errs := e.ssh(pub, nil, cmd...); st != 0 || !strings.Contains(out, fp) {
		e.t.Fatalf("keys:add %s: %d %q %q", name, st, out, errs)
	}
	return path, fp
}

func TestKeysCommands(t *testing.T) {
	e := startServer(t)
	_, bobPub, bobFP := e.newUserKey("bob")
	bob := filepath.Join(e.dir, "bob")

	// Not a member yet.
	if st, _, _ := e.sshWith(bob, "", "whoami"); st != 255 {
		t.Fatalf("an unknown key logged in: status %d", st)
	}
	st, out, errs := e.ssh(bobPub, nil, "keys:add", "bob")
	if st != 0 || out != "Added ssh-ed25519 key "+bobFP+" to bob (member)\n" {
		t.Fatalf("keys:add: %d %q %q", st, out, errs)
	}
	// At once, without a restart.
	st, out, errs = e.sshWith(bob, "", "whoami")
	if st != 0 || !strings.Contains(out, "user:  bob\n") || !strings.Contains(out, "role:  member\n") || !strings.Contains(out, "key:   "+bobFP+"\n") {
		t.Fatalf("whoami as bob: %d %q %q", st, out, errs)
	}

	// Bad input: one line, nothing changed.
	_, carolPub, _ := e.newUserKey("carol")
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{bobPub, []string{"keys:add", "dave"}, "already belongs to user bob"},
		{"not a key\n", []string{"keys:add", "dave"}, "not a public key in authorized_keys format"},
		{"", []string{"keys:add", "dave"}, "no public key on stdin"},
		{carolPub + carolPub, []string{"keys:add", "dave"}, "give one public key per keys:add"},
		{`command="sh" ` + carolPub, []string{"keys:add", "dave"}, "command is not supported"},
		{carolPub, []string{"keys:add", "Dave!"}, "invalid user name"},
		{"", []string{"keys:remove", "nobody"}, "nobody"},
		{"", []string{"keys:remove", "bob", "SHA256:nope"}, "invalid fingerprint"},
	} {
		st, out, errs := e.ssh(tc.stdin, nil, tc.args...)
		if st != 1 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: %d %q %q, want one line containing %q", tc.args, st, out, errs, tc.want)
		}
	}
	// A member adds no key, to anyone.
	st, _, errs = e.sshWith(bob, carolPub, "keys:add", "carol")
	if st != 1 || errs != "paas: permission denied: only an admin may do this\n" {
		t.Errorf("keys:add by a member: %d %q", st, errs)
	}
	if _, _, ok := e.f.User(gossh.FingerprintSHA256(mustParseKey(t, carolPub))); ok {
		t.Errorf("a refused keys:add added the key")
	}

	// keys: an admin sees every user's; a member their own.
	_, out, _ = e.ssh("", nil, "keys")
	if !strings.Contains(out, "alice") || !strings.Contains(out, bobFP) || !strings.Contains(out, "member") {
		t.Errorf("keys as alice:\n%s", out)
	}
	aliceFP := gossh.FingerprintSHA256(genKeyPub(t, e.key+".pub"))
	if !strings.Contains(out, aliceFP) {
		t.Errorf("keys as alice shows not her key:\n%s", out)
	}
	_, out, _ = e.sshWith(bob, "", "keys")
	if strings.Contains(out, aliceFP) || !strings.Contains(out, "\n*  bob   member  "+bobFP) {
		t.Errorf("keys as bob:\n%s", out)
	}
	// A member removes no one else's key.
	st, _, errs = e.sshWith(bob, "", "keys:remove", "alice")
	if st != 1 || errs != "paas: permission denied: only an admin may do this\n" {
		t.Errorf("keys:remove alice by bob: %d %q", st, errs)
	}
	// The last admin's last key stays.
	st, _, errs = e.ssh("", nil, "keys:remove", "alice")
	if st != 1 || !strings.Contains(errs, "last admin") {
		t.Errorf("keys:remove of the last admin: %d %q", st, errs)
	}
}

func genKeyPub(t *testing.T, path string) gossh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return mustParseKey(t, string(b))
}

func mustParseKey(t *testing.T, line string) gossh.PublicKey {
	t.Helper()
	k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyRemovalClosesConnections removes a key while connections of it
// are open: one following logs, one idle; both close at once and the key
// logs in no more. A user removing their own key gets the answer first.
func TestKeyRemovalClosesConnections(t *testing.T) {
	e := startServer(t)
	bob, bobFP := e.addUserKey("bob", false)
	if _, err := e.f.CreateApp(context.Background(), "bob-app", "bob"); err != nil {
		t.Fatal(err)
	}
	follow := make(chan string)
	e.f.mu.Lock()
	e.f.follow = follow
	e.f.mu.Unlock()

	following := e.client(bob, "127.0.0.1")
	sess, err := following.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("logs bob-app -t"); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "app[web.1]: hello\n" {
		t.Fatalf("logs -t: %q %v", line, err)
	}
	idle := e.client(bob, "127.0.0.1")

	st, stdout, errs := e.ssh("", nil, "keys:remove", "bob", bobFP)
	if st != 0 || !strings.Contains(stdout, "Removed key "+bobFP+" of bob\n") || !strings.Contains(stdout, "Closed 2 open connection(s)") {
		t.Fatalf("keys:remove: %d %q %q", st, stdout, errs)
	}
	closedWithin(t, following, 5*time.Second)
	closedWithin(t, idle, 5*time.Second)
	if st, _, _ := e.sshWith(bob, "", "whoami"); st != 255 {
		t.Errorf("the removed key logged in again: status %d", st)
	}

	// carol removes her own key over a connection that also has an idle
	// twin: her command answers, then both connections close.
	carol, carolFP := e.addUserKey("carol", false)
	own := e.client(carol, "127.0.0.1")
	twin := e.client(carol, "127.0.0.1")
	s2, err := own.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var o2 bytes.Buffer
	s2.Stdout = &o2
	if err := s2.Run("keys:remove carol " + carolFP); err != nil {
		t.Fatalf("keys:remove of her own key: %v (%q)", err, o2.String())
	}
	if !strings.Contains(o2.String(), "Removed key "+carolFP+" of carol") {
		t.Errorf("keys:remove of her own key: %q", o2.String())
	}
	closedWithin(t, twin, 5*time.Second)
	closedWithin(t, own, 5*time.Second)
}

// TestAccessRemoveEndsFollow takes a collaborator's access away while
// they follow the app's logs: the follow ends with the answer a stranger
// gets, and their next command gets it too.
func TestAccessRemoveEndsFollow(t *testing.T) {
	e := startServer(t)
	bob, _ := e.addUserKey("bob", false)
	carol, _ := e.addUserKey("carol", false)
	if _, err := e.f.CreateApp(context.Background(), "bob-app", "bob"); err != nil {
		t.Fatal(err)
	}
	st, out, errs := e.sshWith(bob, "", "access:add", "bob-app", "carol")
	if st != 0 || out != "Gave carol access to bob-app as a collaborator\n" {
		t.Fatalf("access:add: %d %q %q", st, out, errs)
	}
	if st, out, _ := e.sshWith(bob, "", "access", "bob-app"); st != 0 || out != "USER   ROLE\nbob    owner\ncarol  collaborator\n" {
		t.Errorf("access: %d %q", st, out)
	}
	e.f.mu.Lock()
	e.f.follow = make(chan string)
	e.f.mu.Unlock()

	cmd := exec.Command("ssh", append(e.sshArgs(carol), "-p", e.port, "paas@127.0.0.1", "logs", "bob-app", "-t")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	if line, err := br.ReadString('\n'); err != nil || line != "app[web.1]: hello\n" {
		t.Fatalf("logs -t: %q %v", line, err)
	}
	// carol may not share.
	if st, _, errs := e.sshWith(carol, "", "access:remove", "bob-app", "carol"); st != 1 || !strings.Contains(errs, "permission denied: only the owner of bob-app") {
		t.Errorf("access:remove by a collaborator: %d %q", st, errs)
	}
	st, out, errs = e.sshWith(bob, "", "access:remove", "bob-app", "carol")
	if st != 0 || out != "Removed the access of carol to bob-app\nEnded 1 running command(s) of carol on bob-app\n" {
		t.Fatalf("access:remove: %d %q %q", st, out, errs)
	}
	rest, _ := io.ReadAll(br)
	err = cmd.Wait()
	if err == nil || cmd.ProcessState.ExitCode() != 1 || len(rest) != 0 || stderr.String() != "paas: app bob-app not found\n" {
		t.Errorf("the follow after access:remove: %v, rest %q, stderr %q", err, rest, stderr.String())
	}
	if st, out, errs := e.sshWith(carol, "", "config", "bob-app"); st != 1 || out != "" || errs != "paas: app bob-app not found\n" {
		t.Errorf("config after access:remove: %d %q %q", st, out, errs)
	}
	if st, out, _ := e.sshWith(carol, "", "apps"); st != 0 || out != "" {
		t.Errorf("apps after access:remove: %d %q", st, out)
	}

	// apps:transfer: carol owns it, bob stays on as a collaborator.
	e.sshWith(bob, "", "access:add", "bob-app", "carol")
	if st, _, errs := e.sshWith(bob, "", "apps:transfer", "bob-app", "carol"); st != 0 {
		t.Fatalf("apps:transfer: %d %q", st, errs)
	}
	if st, out, _ := e.sshWith(carol, "", "access", "bob-app"); st != 0 || out != "USER   ROLE\ncarol  owner\nbob    collaborator\n" {
		t.Errorf("access after transfer: %d %q", st, out)
	}
	if st, _, errs := e.sshWith(bob, "", "apps:destroy", "bob-app", "--confirm", "bob-app"); st != 1 || !strings.Contains(errs, "only the owner of bob-app may destroy it") {
		t.Errorf("apps:destroy by the previous owner: %d %q", st, errs)
	}
}

// TestStrangerGit: a stranger can neither clone nor push an app, and is
// answered as for an app that does not exist; a collaborator can both.
func TestStrangerGit(t *testing.T) {
	e := startServer(t)
	bob, _ := e.addUserKey("bob", false)
	carol, _ := e.addUserKey("carol", false)
	dave, _ := e.addUserKey("dave", false)
	gitAs := func(key, dir string, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = e.gitEnv(key)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	work := e.workRepo("src", map[string]string{"app.py": "print(1)\n"})
	if out, err := gitAs(bob, work, "push", e.url("bob-app"), "main"); err != nil {
		t.Fatalf("bob's first push: %v\n%s", err, out)
	}
	if st, _, _ := e.sshWith(bob, "", "access:add", "bob-app", "carol"); st != 0 {
		t.Fatal("access:add")
	}
	head := e.mustGit(work, "rev-parse", "HEAD")

	for _, app := range []string{"bob-app", "no-such-app"} {
		out, err := gitAs(dave, e.dir, "clone", e.url(app), filepath.Join(e.dir, "dave-"+app))
		if err == nil || !strings.Contains(out, "paas: app "+app+" not found") {
			t.Errorf("dave clones %s: %v\n%s", app, err, out)
		}
	}
	e.commit(work, map[string]string{"app.py": "print(2)\n"})
	// Refused at the door, before git receives a byte: not by the hook.
	if out, err := gitAs(dave, work, "push", e.url("bob-app"), "main"); err == nil || !strings.Contains(out, "paas: app bob-app not found") || strings.Contains(out, "pre-receive") || strings.Contains(out, "remote:") {
		t.Errorf("dave pushes bob-app: %v\n%s", err, out)
	}
	if got := e.remoteRef("bob-app", "refs/heads/main"); got != head {
		t.Errorf("a stranger's push moved main to %s", got)
	}

	if out, err := gitAs(carol, e.dir, "clone", e.url("bob-app"), filepath.Join(e.dir, "carol-clone")); err != nil {
		t.Errorf("carol clones: %v\n%s", err, out)
	}
	if out, err := gitAs(carol, work, "push", e.url("bob-app"), "main"); err != nil {
		t.Errorf("carol pushes: %v\n%s", err, out)
	}
	deploys := e.f.deployList()
	if last := deploys[len(deploys)-1]; last.By != "carol" || last.App != "bob-app" {
		t.Errorf("the last deploy: %+v, want carol's of bob-app", last)
	}
}

// TestHookChecksThePusher: the hook socket deploys only for a pusher
// still allowed to: access taken away after the push began refuses it.
func TestHookChecksThePusher(t *testing.T) {
	s, f := newTestServer(t)
	f.addUser("dave", false)
	ps := &pushSession{ctx: context.Background(), app: "web-app", user: user{"dave", false}, repo: s.repoPath("web-app")}
	var out bytes.Buffer
	err := s.receive(ps, hookRequest{Refs: []string{strings.Repeat("0", 40) + " " + strings.Repeat("a", 40) + " refs/heads/main"}}, &out)
	if msg := errMsg(err); msg != "app web-app not found" {
		t.Errorf("receive for a stranger: %v", err)
	}
	if len(f.deployList()) != 0 {
		t.Errorf("deployed for a stranger")
	}
}

// TestKeysAddKeepsOptions: a key added over SSH with authorized_keys
// options is held to them: from= limits where it logs in from.
func TestKeysAddKeepsOptions(t *testing.T) {
	e := startServer(t)
	erin, pub, fp := e.newUserKey("erin")
	st, out, errs := e.ssh(`from="127.0.0.2" `+pub, nil, "keys:add", "erin")
	if st != 0 || !strings.Contains(out, fp) {
		t.Fatalf("keys:add with from=: %d %q %q", st, out, errs)
	}
	if st, _, _ := e.sshAs(erin, "127.0.0.1", nil, "whoami"); st != 255 {
		t.Errorf("erin's key logged in from 127.0.0.1: status %d", st)
	}
	if st, out, errs := e.sshAs(erin, "127.0.0.2", nil, "whoami"); st != 0 || !strings.Contains(out, "user:  erin") {
		t.Errorf("erin's key from 127.0.0.2: %d %q %q", st, out, errs)
	}
}
