package builder

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBuildOnFullDisk runs a compile that fills the file system of the
// slugs and cache (a small tmpfs): the build fails saying the disk is
// full, not that the buildpack failed, and leaves neither slug nor
// scratch dir, so that the room comes back.
func TestBuildOnFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	data := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "paas-build-full", data).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs as root: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", data).Run() })
	b := testBuilder(t, time.Minute, func(c *Config) {
		c.CacheDir = filepath.Join(data, "cache")
		c.SlugsDir = filepath.Join(data, "slugs")
	})
	filler := vettedBuildpack(t, b, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\nset -e\necho filling\nhead -c 8M /dev/zero > \"$1/big\"\n",
	})
	msg, out := buildErr(t, b, Request{
		Config: map[string]string{"BUILDPACK_URL": filler},
		Source: tarball(t, file{name: "Procfile", body: "web: x\n"}),
	})
	if want := "build failed: the server's disk is full; ask the operator to free space"; msg != want {
		t.Errorf("got %q, want %q\noutput:\n%s", msg, want, out)
	}
	if left, _ := filepath.Glob(filepath.Join(data, "slugs", "app", "*")); len(left) != 0 {
		t.Errorf("left in the slugs: %q", left)
	}
	if left, _ := filepath.Glob(filepath.Join(data, "cache", "app", "build-*")); len(left) != 0 {
		t.Errorf("scratch dirs left: %q", left)
	}
}
