package e2e

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"paas/internal/gittest"
)

// diskFullLine is what a user is told of a change that failed for want
// of room on the server.
const diskFullLine = "the server's disk is full"

// servedVersion is an app of the procfile buildpack serving version.txt.
func servedVersion(version string) map[string]string {
	return map[string]string{
		".buildpacks": "procfile\n",
		"Procfile":    "web: exec python3 -m http.server $PORT\n",
		"version.txt": version + "\n",
	}
}

// writeFiles writes files into dir and commits them.
func (s *server) writeFiles(dir, msg string, files map[string]string) {
	s.t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	s.commitAll(dir, msg)
}

// requireRepoClean checks that app's repo on the server passes git fsck
// and holds no objects of a push that failed (git's quarantine).
func requireRepoClean(t *testing.T, s *server, data, app string) {
	t.Helper()
	repo := filepath.Join(data, "repos", app+".git")
	if r := s.run(repo, "", "git", "--git-dir", repo, "fsck", "--full", "--strict"); r.code != 0 {
		t.Errorf("git fsck of %s: %s%s", app, r.stdout, r.stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(repo, "objects", "incoming-*")); len(left) != 0 {
		t.Errorf("half-received pushes left in %s: %q", app, left)
	}
	if left, _ := filepath.Glob(filepath.Join(repo, "objects", "pack", "tmp_*")); len(left) != 0 {
		t.Errorf("half packs left in %s: %q", app, left)
	}
}

// TestDiskFullDuringBuild runs a build whose compile fills the data dir
// (exec runtime: the slug and the build's scratch dir live there): the
// push fails saying the disk is full, the running release keeps
// serving, the build leaves nothing behind, and the next push goes live.
func TestDiskFullDuringBuild(t *testing.T) {
	mnt := fullableDisk(t)
	data := filepath.Join(mnt, "data")
	vetted := t.TempDir()
	gittest.WriteFiles(t, filepath.Join(vetted, "filler"), map[string]string{
		"bin/compile": "#!/usr/bin/env bash\nset -e\necho filling the disk\nhead -c 256M /dev/zero > \"$1/big\"\n",
	})
	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_DATA_DIR="+data, "PAAS_BUILDPACK_PATHS="+vetted)
	const app = "fullbuild"
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	dir := s.newRepoOf(app, servedVersion("v1"))
	requireOK(t, "first push", s.push(dir, "paas", "main"))
	s.mustGet(app, "/version.txt", "v1")

	s.writeFiles(dir, "a build that fills the disk", map[string]string{".buildpacks": filepath.Join(vetted, "filler") + "\n", "version.txt": "v2\n"})
	r := s.push(dir, "paas", "main")
	if r.code == 0 || !strings.Contains(r.stderr, diskFullLine) || strings.Contains(r.stderr, "internal error") {
		t.Fatalf("push of a build that fills the disk: exit %d, want a failure saying %q:\n%s", r.code, diskFullLine, r.stderr)
	}
	s.mustGet(app, "/version.txt", "v1")
	requireRepoClean(t, s, data, app)
	if left, _ := filepath.Glob(filepath.Join(data, "cache", app, "build-*")); len(left) != 0 {
		t.Errorf("scratch dirs left: %q", left)
	}
	if left, _ := filepath.Glob(filepath.Join(data, "slugs", app, "b2")); len(left) != 0 {
		t.Errorf("the failed build's slug is left: %q", left)
	}

	s.writeFiles(dir, "a build that fits", servedVersion("v3"))
	requireOK(t, "push after the failed build", s.push(dir, "paas", "main"))
	s.mustGet(app, "/version.txt", "v3")
}

// TestDiskFullDuringPush pushes to an app while the data dir is full:
// receive-pack cannot write the pack, the push fails saying the disk is
// full, the repo keeps no half pack and passes git fsck, the app keeps
// serving, and once there is room the same push goes live.
func TestDiskFullDuringPush(t *testing.T) {
	mnt := fullableDisk(t)
	data := filepath.Join(mnt, "data")
	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_DATA_DIR="+data)
	const app = "fullpush"
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	dir := s.newRepoOf(app, servedVersion("v1"))
	requireOK(t, "first push", s.push(dir, "paas", "main"))
	s.mustGet(app, "/version.txt", "v1")
	before := s.run(dir, "", "git", "--git-dir", filepath.Join(data, "repos", app+".git"), "rev-parse", "main").stdout

	// A blob that does not compress: the pack is as large as it is.
	blob := make([]byte, 2<<20)
	rand.Read(blob)
	s.writeFiles(dir, "v2", map[string]string{"version.txt": "v2\n", "blob.bin": string(blob)})
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	r := s.push(dir, "paas", "main")
	if r.code == 0 || !strings.Contains(r.stderr, diskFullLine) || strings.Contains(r.stderr, "internal error") {
		t.Fatalf("push on a full disk: exit %d, want a failure saying %q:\n%s", r.code, diskFullLine, r.stderr)
	}
	s.mustGet(app, "/version.txt", "v1")
	requireRepoClean(t, s, data, app)
	if after := s.run(dir, "", "git", "--git-dir", filepath.Join(data, "repos", app+".git"), "rev-parse", "main").stdout; after != before {
		t.Errorf("main moved from %q to %q on a failed push", before, after)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	requireOK(t, "push with room again", s.push(dir, "paas", "main"))
	s.mustGet(app, "/version.txt", "v2")
	requireRepoClean(t, s, data, app)
}

// burstApp serves the number of log lines it has written, and writes
// numbered lines as fast as it can.
const burstApp = `import http.server, os, sys, threading, time
n = 0
def burst():
    global n
    pad = "x" * 200
    while True:
        n += 1
        sys.stdout.write("burst-%07d-%s\n" % (n, pad))
        if n % 50 == 0:
            sys.stdout.flush()
            time.sleep(0.005)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = str(n).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
threading.Thread(target=burst, daemon=True).start()
http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
`

// TestDiskFullDuringLogBurst fills the data dir while an app writes its
// log as fast as it can: the app keeps serving, its log history (read
// back after a restart of paasd, from disk) holds only whole lines the
// app wrote, and the lines it writes once there is room again are kept.
func TestDiskFullDuringLogBurst(t *testing.T) {
	mnt := fullableDisk(t)
	data := filepath.Join(mnt, "data")
	env := []string{"PAAS_RUNTIME=exec", "PAAS_DATA_DIR=" + data}
	s := startServer(t, env...)
	const app = "fullburst"
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	dir := s.newRepoOf(app, map[string]string{
		".buildpacks": "procfile\n",
		"Procfile":    "web: exec python3 app.py\n",
		"app.py":      burstApp,
	})
	requireOK(t, "push", s.push(dir, "paas", "main"))
	written := func(s *server) int {
		t.Helper()
		code, body, _ := s.get(app, "/")
		n, err := strconv.Atoi(body)
		if code != 200 || err != nil {
			t.Fatalf("GET %s: %d %q", app, code, body)
		}
		return n
	}

	// The disk is filled but for a little room, which the log history
	// fills in the middle of a write.
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	info, err := os.Stat(filler)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filler, info.Size()-256<<10); err != nil {
		t.Fatal(err)
	}
	// The app writes on: enough for the history's writes to fail.
	full := written(s)
	waitFor(t, func() bool { return written(s) > full+5000 })
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := written(s)
	waitFor(t, func() bool { return written(s) > freed+2000 })
	s.stop()

	n := s.successor(env...)
	r := n.ssh("logs " + app + " -n 1000000 --ps web.1")
	requireOK(t, "logs", r)
	line := regexp.MustCompile(`app\[web\.1\]: burst-(\d{7})-x{200}$`)
	// The lines of the first run of the app, then of its run after the
	// restart, which counts from 1 again.
	last, kept, runs := 0, 0, 1
	for _, l := range strings.Split(strings.TrimRight(r.stdout, "\n"), "\n") {
		if !strings.Contains(l, "app[web.1]:") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("a line the app did not write in its history: %.120q", l)
		}
		i, _ := strconv.Atoi(m[1])
		if i <= last {
			if i != 1 || runs == 2 {
				t.Fatalf("line %d follows line %d", i, last)
			}
			runs++
		}
		if i > freed && runs == 1 {
			kept++
		}
		last = i
	}
	if kept == 0 {
		t.Errorf("none of the lines written after the room came back (from %d) is in the history", freed)
	}
	start := time.Now()
	waitFor(t, func() bool { return written(n) > 0 })
	t.Logf("%d lines written after the room came back kept; app answering %s after the restart", kept, time.Since(start))
}
