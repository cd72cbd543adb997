package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"paas/internal/gittest"
	"paas/internal/syncbuf"
)

// scratchLeft lists what is left of build scratch dirs and step records.
func scratchLeft(t *testing.T, b *Builder) []string {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(b.cfg.CacheDir, "*", "build-*"))
	must(t, err)
	if b.cfg.RunDir != "" {
		recs, err := os.ReadDir(b.cfg.RunDir)
		must(t, err)
		for _, r := range recs {
			left = append(left, r.Name())
		}
	}
	return left
}

// TestBuildRemovesScratch: the scratch dir, with the config as ENV_DIR,
// and the step records go with the build, whatever its outcome.
func TestBuildRemovesScratch(t *testing.T) {
	t.Parallel()
	withRunDir := func(c *Config) { c.RunDir = filepath.Join(filepath.Dir(c.CacheDir), "run", "builds") }
	for _, outcome := range []string{"success", "failure", "timeout", "cancel"} {
		t.Run(outcome, func(t *testing.T) {
			t.Parallel()
			b := testBuilder(t, 3*time.Second, withRunDir)
			compile := map[string]string{
				"success": "echo ok",
				"failure": "echo failing; exit 3",
				"timeout": "echo started; sleep 300",
				"cancel":  "echo started; sleep 300",
			}[outcome]
			bp := vettedBuildpack(t, b, map[string]string{
				"bin/compile": "#!/usr/bin/env bash\nls \"$3\"\n" + compile + "\n",
				"bin/release": "#!/usr/bin/env bash\nprintf -- '---\\ndefault_process_types:\\n  web: x\\n'\n",
			})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := &syncbuf.Buffer{}
			if outcome == "cancel" {
				go func() {
					for !strings.Contains(out.String(), "started") {
						time.Sleep(10 * time.Millisecond)
					}
					cancel()
				}()
			}
			_, err := b.Build(ctx, Request{App: "app", Build: 1, Out: out,
				Config: map[string]string{"BUILDPACK_URL": bp, "SECRET": "s3cret"},
				Source: tarball(t, file{name: "Procfile", body: "web: x\n"})})
			if (err == nil) != (outcome == "success") {
				t.Fatalf("build: %v\n%s", err, out.String())
			}
			contains(t, out.String(), "BUILDPACK_URL\nSECRET\n")
			if left := scratchLeft(t, b); len(left) != 0 {
				t.Errorf("left after the build: %q", left)
			}
		})
	}
}

// TestReapOrphans: a second builder on the same dirs, as a paasd started
// after one was killed mid-build, kills the first one's build steps, even
// a process that left the step's group, and removes the scratch dirs with
// the config in them; processes it did not start are left alone.
func TestReapOrphans(t *testing.T) {
	t.Parallel()
	runDir := ""
	cfg := func(c *Config) {
		c.RunDir = filepath.Join(filepath.Dir(c.CacheDir), "run", "builds")
		c.Owner = "test-" + strconv.Itoa(os.Getpid()) + "-reap"
		runDir = c.RunDir
	}
	first := testBuilder(t, 0, cfg)
	pids := filepath.Join(t.TempDir(), "pids")
	bp := vettedBuildpack(t, first, map[string]string{
		// The setsid'd process must have left the step's group (its
		// session is its own) before the step says it started.
		"bin/compile": "#!/usr/bin/env bash\n" +
			"setsid sleep 300 & p=$!; echo $p >> " + pids + "\n" +
			"until [ \"$(cut -d' ' -f6 /proc/$p/stat)\" = \"$p\" ]; do sleep 0.01; done\n" +
			"sleep 300 & echo $! >> " + pids + "\n" +
			"echo $$ >> " + pids + "\necho started\nwait\n",
	})
	errc := startBuild(t, t.Context(), first, Request{App: "app", Build: 1,
		Config: map[string]string{"BUILDPACK_URL": bp, "SECRET": "s3cret"},
		Source: tarball(t, file{name: "Procfile", body: "web: x\n"})}, 20*time.Second)
	var orphans []int
	for _, f := range strings.Fields(string(must2(os.ReadFile(pids)))) {
		pid, err := strconv.Atoi(f)
		must(t, err)
		orphans = append(orphans, pid)
	}
	if len(orphans) != 3 {
		t.Fatalf("pids %v", orphans)
	}

	// Left by another paasd: a scratch dir with config in it.
	leftover := filepath.Join(first.cfg.CacheDir, "other", "build-123", "env")
	gittest.WriteFiles(t, leftover, map[string]string{"SECRET": "left-behind"})
	// Not ours: a process of the same number in a record that does not
	// match its start, and one of another owner's builds.
	stranger := exec.Command("sleep", "300")
	stranger.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stranger.Env = []string{buildIDVar + "=someone-else.0123"}
	must(t, stranger.Start())
	defer func() { stranger.Process.Kill(); stranger.Wait() }()
	rec, err := json.Marshal(stepRecord{App: "x", Build: 1, PGID: stranger.Process.Pid, Start: 1, ID: "stale.0123"})
	must(t, err)
	must(t, os.WriteFile(filepath.Join(runDir, "x-b1-1.json"), rec, 0o600))

	second := testBuilder(t, 0, func(c *Config) {
		c.RunDir = first.cfg.RunDir
		c.CacheDir = first.cfg.CacheDir
		c.Owner = first.cfg.Owner
	})
	reaped, err := second.ReapOrphans(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if reaped.Processes < 2 || reaped.Scratch < 1 {
		t.Errorf("reaped %+v", reaped)
	}
	for _, pid := range orphans {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("build process %d survived", pid)
		}
	}
	if !alive(stranger.Process.Pid) {
		t.Error("a process not of this owner's builds was killed")
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover ENV_DIR: %v", err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("the orphaned build succeeded")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the orphaned build did not end")
	}
	if left := scratchLeft(t, second); len(left) != 0 {
		t.Errorf("left: %q", left)
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}
