package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"paas/internal/gittest"
)

// TestKilledDuringBuild kills paasd with SIGKILL while a build's compile
// runs (a buildpack that leaves a process in its group and one outside
// it, and sleeps), then starts paasd again on the same data: the build's
// processes and its build container are gone, and no scratch dir or any
// other file under the data dir's cache holds the app's config values.
func TestKilledDuringBuild(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		var tag [4]byte
		rand.Read(tag[:])
		marker := "paas-orphan-" + hex.EncodeToString(tag[:])
		vetted := t.TempDir()
		// Every process the compile leaves runs as `marker` (argv[0]).
		gittest.WriteFiles(t, filepath.Join(vetted, "sleepy"), map[string]string{
			"bin/compile": "#!/usr/bin/env bash\n" +
				"setsid bash -c 'exec -a " + marker + " sleep 600' &\n" +
				"(exec -a " + marker + " sleep 600) &\n" +
				"echo compile is running\n" +
				"exec -a " + marker + " sleep 600\n",
		})
		env := []string{"PAAS_RUNTIME=" + rt, "PAAS_BUILDPACK_PATHS=" + vetted}
		s := startServer(t, env...)
		app := "orphan-" + rt
		secret := "s3cret-" + hex.EncodeToString(tag[:])
		requireOK(t, "apps:create", s.ssh("apps:create "+app))
		requireOK(t, "config:set", s.ssh("config:set "+app+" API_TOKEN="+secret))
		dir := s.newRepoOf(app, map[string]string{
			".buildpacks": filepath.Join(vetted, "sleepy") + "\n",
			"Procfile":    "web: python3 -m http.server $PORT\n",
		})
		pushed := make(chan result, 1)
		go func() { pushed <- s.runQuiet(dir, "git", "push", "paas", "main") }()

		// The compile runs, and the config waits in its ENV_DIR.
		cache := filepath.Join(s.dataDir, "cache", app)
		deadline := time.Now().Add(3 * time.Minute)
		for len(processesNamed(marker)) < 3 || len(filesHolding(t, cache, secret)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the compile did not start: %d processes, files %q\n%s", len(processesNamed(marker)), filesHolding(t, cache, secret), s.out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-s.done
		<-pushed
		// Killing paasd alone stops nothing of the build.
		if n := len(processesNamed(marker)); n < 3 {
			t.Fatalf("%d build processes before the restart, want 3", n)
		}
		var cli *client.Client
		if rt == "docker" {
			cli = requireDocker(t)
			if n := buildContainersOf(t, cli, app); n != 1 {
				t.Fatalf("%d build containers before the restart, want 1", n)
			}
		}

		n := s.successor(env...)
		if left := processesNamed(marker); len(left) != 0 {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("build processes %v survived the restart", left)
		}
		if files := filesHolding(t, filepath.Join(s.dataDir, "cache"), secret); len(files) != 0 {
			t.Errorf("config values left on disk after the restart: %q", files)
		}
		if left, _ := filepath.Glob(filepath.Join(cache, "build-*")); len(left) != 0 {
			t.Errorf("scratch dirs left: %q", left)
		}
		if cli != nil {
			if n := buildContainersOf(t, cli, app); n != 0 {
				t.Errorf("%d build containers left after the restart", n)
			}
		}
		// The restarted paasd builds the app.
		if err := os.WriteFile(filepath.Join(dir, ".buildpacks"), []byte("procfile\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		n.commitAll(dir, "no more sleeping")
		requireOK(t, "push after the restart", n.push(dir, "paas", "main"))
	})
}

// processesNamed lists the running processes whose argv[0] is name.
func processesNamed(name string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv0, _, _ := bytes.Cut(cmdline, []byte{0})
		if string(argv0) != name {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// filesHolding lists the files under dir whose content holds s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), s) {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// buildContainersOf counts app's build containers.
func buildContainersOf(t *testing.T, cli *client.Client, app string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", "paas.app="+app), filters.Arg("label", "paas.role=build"))})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}
