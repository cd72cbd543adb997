package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"paas/internal/syncbuf"
)

// uidServer answers on $PORT with the user it runs as.
const uidServer = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("uid=%d\n" % os.getuid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// probeScript tries, from inside an app, what pushed code must not do on
// a root paasd, and a few things it must, printing label=yes or label=no
// for each. Arguments: the data dir, paasd's pid, the process group of
// another app's instance, that app's name.
const probeScript = `D=$1 P=$2 B=$3 BAPP=$4
try() { local label=$1; shift; if "$@" >/dev/null 2>&1; then echo "$label=yes"; else echo "$label=no"; fi; }
connect() { python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$1"; }
echo "uid=$(id -u) groups=$(id -G)"
try store cat "$D/paas.db"
try hostkey cat "$D/ssh_host_ed25519_key"
try list-datadir ls "$D"
try repos ls "$D/repos"
try logs ls "$D/logs"
try paasd-environ cat "/proc/$P/environ"
try hook-socket connect "$D/run/hook.sock"
try handoff-socket connect "$D/run/handoff.sock"
try other-slug cat "$D/slugs/$BAPP/b1/server.py"
try other-environ cat "/proc/$B/environ"
try other-signal kill -0 "$B"
try own-slug cat server.py
try write-home touch "$HOME/written"
echo "venv-owner=$(stat -c %u .heroku/python) home-owner=$(stat -c %u "$HOME")"
`

// TestExecConfinement pushes two apps to a root paasd on the exec runtime
// and checks, from a one-off and an instance of one, that pushed code
// runs as a user of its own app, built by that user, and can reach
// neither paasd's data (store, host key, repos, logs, sockets, its
// environment) nor the other app's slug and processes.
func TestExecConfinement(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("apps run as users of their own only under a root paasd")
	}
	const appA, appB = "confine-a", "confine-b"
	s := startServer(t, "PAAS_RUNTIME=exec")
	files := map[string]string{"Procfile": "web: python3 server.py\n", "server.py": uidServer, "probe.sh": probeScript}
	dirA := s.newRepoOf(appA, files)
	dirB := s.newRepoOf(appB, files)
	requireOK(t, "push "+appA, s.push(dirA, "paas", "main"))
	requireOK(t, "push "+appB, s.push(dirB, "paas", "main"))
	requireOK(t, "config:set", s.paas(dirB, "", "config:set", "B_SECRET=b-secret-value"))

	uidOf := func(dir string) int {
		t.Helper()
		r := s.paas(dir, "", "run", "--", "id", "-u")
		requireOK(t, "run id -u", r)
		uid, err := strconv.Atoi(strings.TrimSpace(r.stdout))
		if err != nil {
			t.Fatalf("id -u printed %q", r.stdout)
		}
		return uid
	}
	uidA, uidB := uidOf(dirA), uidOf(dirB)
	if uidA == 0 || uidB == 0 || uidA == uidB {
		t.Fatalf("one-offs ran as uid %d (%s) and %d (%s): want two users, neither root", uidA, appA, uidB, appB)
	}
	// The instances run as their app's user too.
	s.mustGet(appA, "/", fmt.Sprintf("uid=%d\n", uidA))
	s.mustGet(appB, "/", fmt.Sprintf("uid=%d\n", uidB))

	pgidB := instancePGID(t, s.dataDir, appB)
	r := s.paas(dirA, "", "run", "--", "bash", "probe.sh", s.dataDir, strconv.Itoa(s.cmd.Process.Pid), strconv.Itoa(pgidB), appB)
	requireOK(t, "run probe.sh", r)
	// The app's gid is its own, numbered like its uid.
	gidA := uidA - firstUID(t) + firstGID(t)
	want := fmt.Sprintf(`uid=%d groups=%d
store=no
hostkey=no
list-datadir=no
repos=no
logs=no
paasd-environ=no
hook-socket=no
handoff-socket=no
other-slug=no
other-environ=no
other-signal=no
own-slug=yes
write-home=yes
venv-owner=%d home-owner=%d
`, uidA, gidA, uidA, uidA)
	if r.stdout != want {
		t.Errorf("probe from %s printed\n%s\nwant\n%s", appA, r.stdout, want)
	}

	// On disk: the data dir passable but closed, the store root's alone,
	// the slug the app's and closed to everyone else.
	for path, w := range map[string]struct {
		uid  int
		mode os.FileMode
	}{
		s.dataDir:                           {0, 0o711},
		filepath.Join(s.dataDir, "paas.db"): {0, 0o600},
		filepath.Join(s.dataDir, "ssh_host_ed25519_key"): {0, 0o600},
		filepath.Join(s.dataDir, "repos"):                {0, 0o700},
		filepath.Join(s.dataDir, "run"):                  {0, 0o700},
		filepath.Join(s.dataDir, "slugs"):                {0, 0o711},
		filepath.Join(s.dataDir, "slugs", appA):          {0, 0o711},
		filepath.Join(s.dataDir, "slugs", appA, "b1"):    {uidA, 0o700},
		filepath.Join(s.dataDir, "cache", appA, "cache"): {uidA, 0o700},
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if uid := int(fi.Sys().(*syscall.Stat_t).Uid); uid != w.uid || fi.Mode().Perm() != w.mode {
			t.Errorf("%s: uid %d mode %v, want uid %d mode %v", path, uid, fi.Mode().Perm(), w.uid, w.mode)
		}
	}
}

// instancePGID finds the process group of app's running instance in the
// exec runtime's records.
func instancePGID(t *testing.T, dataDir, app string) int {
	t.Helper()
	recs, _ := filepath.Glob(filepath.Join(dataDir, "run", "exec", "*.pid"))
	for _, p := range recs {
		var rec struct {
			App  string `json:"app"`
			PGID int    `json:"pgid"`
		}
		b, err := os.ReadFile(p)
		if err == nil && json.Unmarshal(b, &rec) == nil && rec.App == app {
			return rec.PGID
		}
	}
	t.Fatalf("no running instance of %s recorded in %v", app, recs)
	return 0
}

// firstUID and firstGID are the first subordinate ids of paas-app, whose
// ids the apps of a root paasd run as.
func firstUID(t *testing.T) int { return firstSubID(t, "/etc/subuid") }
func firstGID(t *testing.T) int { return firstSubID(t, "/etc/subgid") }

func firstSubID(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Split(sc.Text(), ":"); len(f) == 3 && f[0] == "paas-app" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("%s has no range of paas-app", path)
	return 0
}

// TestRuntimeRecord runs paasd on docker, then starts it again while no
// Docker engine answers: PAAS_RUNTIME=auto refuses with one line, again
// and again; PAAS_RUNTIME=exec starts and switches, after which auto
// starts on exec too, and refuses to move the apps to docker once an
// engine answers again.
func TestRuntimeRecord(t *testing.T) {
	if ok, why := dockerReady(); !ok {
		t.Skip("docker engine not available: " + why)
	}
	s := newServer(t)
	t.Cleanup(func() {
		if s.cmd != nil {
			s.stop()
		}
		if t.Failed() && s.out != nil {
			t.Logf("paasd output:\n%s", s.out.String())
		}
	})
	const noEngine = "DOCKER_HOST=unix:///nonexistent/docker.sock"
	addrs := []string{"PAAS_SSH_ADDR=127.0.0.1:0", "PAAS_HTTP_ADDR=127.0.0.1:0", "PAAS_HTTPS_ADDR=127.0.0.1:0"}
	s.launch(append(addrs, "PAAS_RUNTIME=docker"))
	requireOK(t, "apps on docker", s.ssh("apps"))
	s.stop()

	for range 2 {
		line := s.refusedStart(append(addrs, "PAAS_RUNTIME=auto", noEngine)...)
		if want := "paasd: this server ran its apps on the docker runtime, and PAAS_RUNTIME=auto found no Docker engine: start the engine, or set PAAS_RUNTIME=exec to move the apps to the exec runtime\n"; line != want {
			t.Fatalf("refusal:\n%q\nwant\n%q", line, want)
		}
	}
	for _, setting := range []string{"exec", "auto"} {
		s.launch(append(addrs, "PAAS_RUNTIME="+setting, noEngine))
		requireOK(t, "apps with PAAS_RUNTIME="+setting, s.ssh("apps"))
		s.stop()
	}
	line := s.refusedStart(append(addrs, "PAAS_RUNTIME=auto")...)
	if want := "paasd: this server ran its apps on the exec runtime, and PAAS_RUNTIME=auto now finds a Docker engine: set PAAS_RUNTIME=exec to keep it, or PAAS_RUNTIME=docker to move the apps\n"; line != want {
		t.Errorf("refusal:\n%q\nwant\n%q", line, want)
	}
}

// refusedStart runs paasd with env, which must exit non-zero before it
// listens; it returns what paasd wrote to stderr.
func (s *server) refusedStart(env ...string) string {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "paasd"))
	cmd.Env = s.paasdEnv(env...)
	var out, stderr syncbuf.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, pw), &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		done <- err
	}()
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"msg":"listening"`) {
				close(listening)
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case err := <-done:
		if err == nil {
			s.t.Fatalf("paasd exited 0, want a refusal\n%s%s", out.String(), stderr.String())
		}
	case <-listening:
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		s.t.Fatalf("paasd started, want a refusal:\n%s%s", out.String(), stderr.String())
	}
	return stderr.String()
}
