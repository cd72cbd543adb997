package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paas/internal/syncbuf"
)

// versionApp serves the contents of VERSION; its release phase waits for
// the file named by the GATE config var, so a test decides when a
// deploy may go live.
var versionApp = map[string]string{
	"Procfile":         "web: python3 app.py\nrelease: python3 gate.py\n",
	"requirements.txt": "",
	"VERSION":          "one\n",
	"app.py": `import http.server, os

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open("VERSION", "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
`,
	"gate.py": `import os, sys, time
deadline = time.time() + 120
while not os.path.exists(os.environ["GATE"]):
    if time.time() > deadline:
        sys.exit("gate never opened")
    time.sleep(0.05)
print("gate open")
`,
}

// TestOverlappingPushes pushes two diverging commits at once: the first
// holds the app in its release phase while the second arrives and waits
// for the app's lock. The second was made without the first, so it must
// be refused before it builds ("fetch first"), and main must name the
// commit that serves, whatever the interleaving.
func TestOverlappingPushes(t *testing.T) {
	const app = "pushrace"
	s := startServer(t, "PAAS_RUNTIME=exec")
	gateDir, err := os.MkdirTemp("", "paas-gate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(gateDir) })
	// The release phase may run as another user: it must see the gate.
	if err := os.Chmod(gateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(gateDir, "open")

	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	requireOK(t, "config:set", s.ssh("config:set "+app+" GATE="+gate))
	a := s.newRepoOf(app, versionApp)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	requireOK(t, "first push", s.push(a, "paas", "main"))
	s.mustGet(app, "/", "one")
	if err := os.Remove(gate); err != nil {
		t.Fatal(err)
	}

	// Two clones of v1 diverge.
	b := filepath.Join(t.TempDir(), "b")
	s.git("", "clone", "-q", "--origin", "paas", a, b)
	s.git(b, "remote", "set-url", "paas", s.repoURL(app))
	for dir, v := range map[string]string{a: "two\n", b: "three\n"} {
		if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		s.commitAll(dir, strings.TrimSpace(v))
	}

	pa := s.startPush(a)
	pa.waitFor(t, "Running release command")
	pb := s.startPush(b)
	pb.waitFor(t, "Waiting for another deploy or change of "+app)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ra, rb := pa.wait(t), pb.wait(t)

	if ra != 0 {
		t.Fatalf("first push failed (%d):\n%s", ra, pa.out.String())
	}
	if rb == 0 {
		t.Fatalf("second push, made without the first, succeeded:\n%s", pb.out.String())
	}
	if out := pb.out.String(); !strings.Contains(out, "fetch first") || strings.Contains(out, "-----> Building") || strings.Contains(out, "Running release command") {
		t.Errorf("second push: want a refusal before building that says fetch first, got:\n%s", out)
	}
	headA := strings.TrimSpace(s.git(a, "rev-parse", "HEAD").stdout)
	remote := strings.Fields(s.git(a, "ls-remote", "paas", "refs/heads/main").stdout)
	if len(remote) == 0 || remote[0] != headA {
		t.Errorf("main on the server = %v, want the first push's commit %s", remote, headA)
	}
	s.mustGet(app, "/", "two")
	// v1 is the first push, v2 the second's: the refused push made none.
	info := s.ssh("releases:info " + app + " v2")
	requireOK(t, "releases:info", info)
	if !strings.Contains(info.stdout, headA[:7]) {
		t.Errorf("live release v2 does not name commit %s:\n%s", headA[:7], info.stdout)
	}
	if r := s.ssh("releases:info " + app + " v3"); r.code == 0 {
		t.Errorf("the refused push made a release:\n%s", r.stdout)
	}
}

// repoURL is the SSH URL of app's repository on s.
func (s *server) repoURL(app string) string {
	return "ssh://paas@127.0.0.1:" + s.port() + "/" + app
}

// pushRun is a git push running in the background.
type pushRun struct {
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{}
}

// startPush starts git push paas main in dir.
func (s *server) startPush(dir string) *pushRun {
	s.t.Helper()
	p := &pushRun{out: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command("git", "push", "paas", "main")
	p.cmd.Dir = dir
	p.cmd.Env = s.env()
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// waitFor waits until the push's output contains want.
func (p *pushRun) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(90 * time.Second)
	for !strings.Contains(p.out.String(), want) {
		select {
		case <-p.done:
			if strings.Contains(p.out.String(), want) {
				return
			}
			t.Fatalf("push ended without %q:\n%s", want, p.out.String())
		case <-deadline:
			t.Fatalf("push did not print %q:\n%s", want, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wait waits for the push to end and returns its exit status.
func (p *pushRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(3 * time.Minute):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("push did not end:\n%s", p.out.String())
	}
	return p.cmd.ProcessState.ExitCode()
}
