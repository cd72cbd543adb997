package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	gossh "golang.org/x/crypto/ssh"

	"paas/internal/lossyfs"
)

// powerLossRounds is how many power cuts TestPowerLoss makes.
const powerLossRounds = 30

// TestPowerLoss cuts the power of paasd's machine, again and again, at
// random points of a loop of writes: config:set, keys:add, domains:add and
// pushes. The data dir is on a FUSE layer (internal/lossyfs) that, on a
// crash, keeps only what was fsynced: a file's data as of its last fsync,
// a directory's entries as of the directory's last fsync. After each cut
// (paasd and everything using the data dir killed with SIGKILL, then the
// unsynced writes dropped) the store passes bbolt's check, every repo
// passes git fsck, paasd starts, every write it acknowledged is there, and
// every write it did not is whole or absent.
func TestPowerLoss(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs FUSE (/dev/fuse)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount FUSE")
	}
	s := newServer(t)
	root := filepath.Dir(s.dataDir)
	l, err := lossyfs.Mount(filepath.Join(root, "lossy"), s.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.KillUsers(30 * time.Second); err != nil {
			t.Error(err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("unmounting the data dir: %v", err)
		}
	})
	env := []string{"PAAS_RUNTIME=exec"}
	s.launch(append([]string{"PAAS_SSH_ADDR=127.0.0.1:0", "PAAS_HTTP_ADDR=127.0.0.1:0", "PAAS_HTTPS_ADDR=127.0.0.1:0"}, env...))
	const app = "powercut"
	dir := s.newRepo("static", app)
	requireOK(t, "first push", s.push(dir, "paas", "main"))
	acked := &ackedWrites{app: app, config: map[string]string{}, pushed: strings.TrimSpace(s.git(dir, "rev-parse", "HEAD").stdout)}

	start := time.Now()
	next := 0
	for round := range powerLossRounds {
		// Writes, one after the other, until the power goes at a
		// random moment: most often in the middle of one.
		stop := make(chan struct{})
		werr := make(chan error, 1)
		go func() {
			for {
				select {
				case <-stop:
					werr <- nil
					return
				default:
				}
				next++
				if err := acked.write(s, dir, next); err != nil {
					werr <- err
					return
				}
			}
		}()
		time.Sleep(time.Duration(randInt(2500)) * time.Millisecond)
		if err := l.KillUsers(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		<-s.done
		close(stop)
		if err := <-werr; err != nil {
			t.Fatal(err)
		}
		if err := l.Crash(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		checkStore(t, filepath.Join(s.dataDir, "paas.db"))
		checkRepos(t, filepath.Join(s.dataDir, "repos"))
		s = s.successor(env...)
		acked.check(t, s, dir)
	}
	syncs, crashes := l.Stats()
	t.Logf("%d power cuts in %s, %d writes, %d acknowledged, %d fsyncs", crashes, time.Since(start).Round(time.Second), next, acked.count, syncs)
}

// ackedWrites are the writes paasd acknowledged.
type ackedWrites struct {
	app     string
	config  map[string]string // KEY -> value
	keys    []string          // fingerprints
	domains []string
	pushed  string // the commit of the last push that succeeded
	count   int
}

// write makes the n-th write of the loop, of a kind that turns with n,
// and records it when paasd acknowledges it (exit 0). A write cut by the
// power fails and is not recorded. It runs beside the test's goroutine:
// an error is returned, not reported.
func (a *ackedWrites) write(s *server, dir string, n int) error {
	switch n % 4 {
	case 0:
		k, v := fmt.Sprintf("K%d", n), fmt.Sprintf("v%d", n)
		if r := s.runQuiet("", "ssh", s.sshArgs("config:set "+a.app+" "+k+"="+v)...); r.code == 0 {
			a.config[k] = v
			a.count++
		}
	case 1:
		pub, fp, err := newPublicKey(n)
		if err != nil {
			return err
		}
		if r, err := s.command("", pub, "ssh", s.sshArgs("keys:add member"+strconv.Itoa(n))...); err == nil && r.code == 0 {
			a.keys = append(a.keys, fp)
			a.count++
		}
	case 2:
		host := fmt.Sprintf("d%d.powercut.test", n)
		if r := s.runQuiet("", "ssh", s.sshArgs("domains:add "+a.app+" "+host)...); r.code == 0 {
			a.domains = append(a.domains, host)
			a.count++
		}
	case 3:
		if err := os.WriteFile(filepath.Join(dir, "public", "n.txt"), []byte(strconv.Itoa(n)), 0o644); err != nil {
			return err
		}
		for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", fmt.Sprintf("write %d", n)}} {
			if r := s.runQuiet(dir, "git", args...); r.code != 0 {
				return fmt.Errorf("git %v: %s", args, r.stderr)
			}
		}
		// A push cut by the power leaves the local branch ahead: the
		// next one carries its commit.
		if r := s.runQuiet(dir, "git", "push", "paas", "main"); r.code == 0 {
			head := s.runQuiet(dir, "git", "rev-parse", "HEAD")
			if head.code != 0 {
				return fmt.Errorf("git rev-parse HEAD: %s", head.stderr)
			}
			a.pushed = strings.TrimSpace(head.stdout)
			a.count++
		}
	}
	return nil
}

// check requires every acknowledged write on the restarted paasd, and
// every config var, acknowledged or not, whole.
func (a *ackedWrites) check(t *testing.T, s *server, dir string) {
	t.Helper()
	r := s.ssh("config " + a.app)
	requireOK(t, "config after the crash", r)
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	for k, v := range got {
		if strings.HasPrefix(k, "K") && v != "v"+k[1:] {
			t.Fatalf("config var %s=%q after the crash: a write that is not whole", k, v)
		}
	}
	for k, v := range a.config {
		if got[k] != v {
			t.Fatalf("acknowledged config:set %s=%s lost in the crash; config:\n%s", k, v, r.stdout)
		}
	}
	r = s.ssh("keys")
	requireOK(t, "keys after the crash", r)
	for _, fp := range a.keys {
		if !strings.Contains(r.stdout, fp) {
			t.Fatalf("acknowledged keys:add of %s lost in the crash; keys:\n%s", fp, r.stdout)
		}
	}
	r = s.ssh("domains " + a.app)
	requireOK(t, "domains after the crash", r)
	for _, d := range a.domains {
		if !strings.Contains(r.stdout, d) {
			t.Fatalf("acknowledged domains:add %s lost in the crash; domains:\n%s", d, r.stdout)
		}
	}
	// The repo has the last acknowledged push (or a later one that was
	// cut before it was acknowledged).
	repo := filepath.Join(s.dataDir, "repos", a.app+".git")
	cmd := exec.Command("git", "merge-base", "--is-ancestor", a.pushed, "refs/heads/main")
	cmd.Env = append(os.Environ(), "GIT_DIR="+repo)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("acknowledged push of %.7s lost in the crash: %v %s", a.pushed, err, out)
	}
	requireOK(t, "logs after the crash", s.ssh("logs "+a.app+" -n 1000"))
	// The live release runs again: its slug survived too.
	waitFor(t, func() bool {
		code, _, _ := s.get(a.app, "/")
		return code == 200
	})
}

// checkStore runs bbolt's consistency check on the store.
func checkStore(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("opening the store after the crash: %v", err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("bbolt check after the crash: %v", err)
	}
}

// checkRepos runs git fsck on every repo.
func checkRepos(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("repos after the crash: %v", err)
	}
	for _, e := range ents {
		cmd := exec.Command("git", "fsck", "--no-progress", "--no-dangling")
		cmd.Env = append(os.Environ(), "GIT_DIR="+filepath.Join(dir, e.Name()))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git fsck of %s after the crash: %v\n%s", e.Name(), err, out)
		}
	}
}

// newPublicKey makes an SSH public key and returns it in authorized_keys
// form with its fingerprint.
func newPublicKey(n int) (string, string, error) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))) + fmt.Sprintf(" member%d\n", n)
	return line, gossh.FingerprintSHA256(k), nil
}

func randInt(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		panic(err)
	}
	return v.Int64()
}

// sshArgs are the ssh arguments that run command on the server.
func (s *server) sshArgs(command string) []string {
	return append(strings.Fields(s.sshCommand())[1:], "-p", s.port(), "paas@127.0.0.1", command)
}
