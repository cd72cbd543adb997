package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// TestClientBootstrap runs the paas client through the real ssh against
// paasd, as a new user would: apps:create in a fresh git repository adds
// the paas remote (and leaves an existing one alone), usage errors come
// in the client's grammar, -a goes after the command, open prints the
// app's URL, and an interactive run ends without ssh's "Connection to
// HOST closed.".
func TestClientBootstrap(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	const app = "client-boot"
	dir := filepath.Join(t.TempDir(), "work")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "apps", "worker"))); err != nil {
		t.Fatal(err)
	}
	s.git(dir, "init", "-q", "-b", "main")
	s.commitAll(dir, "initial")
	paas := func(dir string, extraEnv []string, args ...string) result {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir, "paas"), args...)
		cmd.Dir = dir
		cmd.Env = append(s.env(), extraEnv...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("paas %q: %v", args, err)
		}
		return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
	}
	host := []string{"PAAS_HOST=paas@127.0.0.1:" + s.port()}
	remote := "ssh://paas@127.0.0.1:" + s.port() + "/" + app + ".git"

	r := paas(dir, host, "apps:create", app)
	requireOK(t, "apps:create", r)
	for _, want := range []string{"Created " + app + "\n", "URL: http://" + app + ".localhost", "Git remote paas added: " + remote + "\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apps:create printed %q, lacking %q", r.stdout, want)
		}
	}
	if got := strings.TrimSpace(s.git(dir, "remote", "get-url", "paas").stdout); got != remote {
		t.Fatalf("the paas remote is %q, want %q", got, remote)
	}
	// A second app from the same repository leaves the remote alone.
	r = paas(dir, nil, "apps:create", app+"-two")
	requireOK(t, "apps:create again", r)
	if !strings.Contains(r.stdout, "Git remote paas already exists ("+remote+"): left as it is") {
		t.Errorf("apps:create with a remote printed %q", r.stdout)
	}
	if got := strings.TrimSpace(s.git(dir, "remote", "get-url", "paas").stdout); got != remote {
		t.Fatalf("the paas remote became %q", got)
	}
	// Outside a repository: the remote to add is printed.
	r = paas(t.TempDir(), host, "apps:create", app+"-three")
	requireOK(t, "apps:create outside a repo", r)
	if want := "Git remote: ssh://paas@127.0.0.1:" + s.port() + "/" + app + "-three.git (not in a git repository"; !strings.Contains(r.stdout, want) {
		t.Errorf("apps:create outside a repo printed %q, lacking %q", r.stdout, want)
	}

	// The remote just added is the app's: push, then commands without -a.
	requireOK(t, "push", s.push(dir, "paas", "main"))
	r = paas(dir, nil, "config:set")
	if r.code != 1 || r.stderr != "paas: usage: paas config:set KEY=VALUE... | --file .env [-a APP]\n" {
		t.Errorf("config:set without vars: %+v", r)
	}
	requireOK(t, "config:set -a after", paas(dir, nil, "config:set", "GREETING=hi", "-a", app+"-two"))
	if r := paas(dir, nil, "config:get", "GREETING", "--app="+app+"-two"); r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("config:get --app= after: %+v", r)
	}
	if r := paas(dir, nil, "config:get", "GREETING"); r.code != 1 || !strings.Contains(r.stderr, "not set for "+app) {
		t.Errorf("config:get of the remote's app: %+v", r)
	}

	// open prints the URL apps:info names; no terminal, no browser.
	info := s.ssh("apps:info " + app)
	requireOK(t, "apps:info", info)
	var url string
	for _, l := range strings.Split(info.stdout, "\n") {
		if v, ok := strings.CutPrefix(l, "url:"); ok {
			url = strings.TrimSpace(v)
		}
	}
	if r := paas(dir, []string{"BROWSER=/bin/false"}, "open"); r.code != 0 || url == "" || r.stdout != url+"\n" {
		t.Errorf("open: %+v, want %q", r, url)
	}

	// run with stdin from /dev/null, a character device but no terminal:
	// no terminal is asked for, so ssh says nothing about one.
	sshNoQuiet := strings.Replace(s.sshCommand(), " -o LogLevel=ERROR", "", 1)
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd := exec.Command(filepath.Join(binDir, "paas"), "run", "echo", "null-run")
	cmd.Dir, cmd.Stdin = dir, null
	knownHosts := "UserKnownHostsFile=" + filepath.Join(t.TempDir(), "known_hosts")
	nullEnv := append(s.env(), "PAAS_SSH_COMMAND="+strings.Replace(sshNoQuiet, "UserKnownHostsFile=/dev/null", knownHosts, 1))
	cmd.Env = nullEnv
	var nullOut, nullErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &nullOut, &nullErr
	// The first connection adds the host key (a warning): a second one,
	// with the key known, shows what a user sees every day.
	if err := cmd.Run(); err != nil {
		t.Fatalf("paas run < /dev/null: %v\n%s", err, nullErr.String())
	}
	cmd = exec.Command(cmd.Path, cmd.Args[1:]...)
	cmd.Dir, cmd.Stdin, cmd.Env = dir, null, nullEnv
	nullOut.Reset()
	nullErr.Reset()
	cmd.Stdout, cmd.Stderr = &nullOut, &nullErr
	if err := cmd.Run(); err != nil || nullOut.String() != "null-run\n" || nullErr.Len() != 0 {
		t.Errorf("paas run < /dev/null: %v, stdout %q, stderr %q", err, nullOut.String(), nullErr.String())
	}

	// /dev/null is not a terminal: keys:add reads the (empty) key from it
	// and the server answers, where a terminal would be refused here.
	cmd = exec.Command(filepath.Join(binDir, "paas"), "keys:add", "nobody")
	cmd.Dir, cmd.Stdin, cmd.Env = dir, null, s.env()
	nullOut.Reset()
	nullErr.Reset()
	cmd.Stdout, cmd.Stderr = &nullOut, &nullErr
	if err := cmd.Run(); err == nil || strings.Contains(nullErr.String(), "KEY_FILE") || !strings.HasPrefix(nullErr.String(), "paas: ") {
		t.Errorf("paas keys:add < /dev/null: %v, stderr %q", err, nullErr.String())
	}

	// run on a terminal: the command's -a is its own, and ssh's closing
	// line is not printed.
	cmd = exec.Command(filepath.Join(binDir, "paas"), "run", "-a", app, "echo", "pty-run", "-a")
	cmd.Dir = dir
	cmd.Env = append(s.env(), "PAAS_SSH_COMMAND="+sshNoQuiet)
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Skipf("no pseudo-terminal (/dev/ptmx): %v", err)
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, tty)
	tty.Close()
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatalf("reading the terminal: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("paas run on a terminal: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "pty-run -a") || strings.Contains(out.String(), "Connection to") {
		t.Errorf("paas run on a terminal printed %q", out.String())
	}
}
