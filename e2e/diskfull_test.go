package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFull fills the file system of paasd's data dir (a small tmpfs)
// and changes config: the user is told that the disk is full, in one
// line, and the change is not made; once there is room again it works.
func TestDiskFull(t *testing.T) {
	mnt := fullableDisk(t)

	const app = "full"
	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_DATA_DIR="+filepath.Join(mnt, "data"))
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	requireOK(t, "config:set", s.ssh("config:set "+app+" BEFORE=1"))

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	r := s.ssh("config:set " + app + " DURING=" + strings.Repeat("x", 64<<10))
	requireFail(t, "config:set on a full disk", r, "the server's disk is full")
	if got := s.ssh("config " + app).stdout; strings.Contains(got, "DURING") || !strings.Contains(got, "BEFORE") {
		t.Errorf("config after the failed change:\n%s", got)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	requireOK(t, "config:set with room again", s.ssh("config:set "+app+" AFTER=1"))
	if got := s.ssh("config:get " + app + " AFTER").stdout; got != "1\n" {
		t.Errorf("config:get AFTER = %q", got)
	}
}

// fullableDisk mounts a small tmpfs for a data dir the test fills.
func fullableDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs for the data dir needs root")
	}
	if fs, err := os.ReadFile("/proc/filesystems"); err != nil || !strings.Contains(string(fs), "\ttmpfs\n") {
		t.Skip("the kernel has no tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "paas-e2e-full", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs as root: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	return mnt
}

// fill writes to path until the file system has no room left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	// Whatever is left in partial pages goes too.
	small := make([]byte, 512)
	for {
		if _, err := f.Write(small); err != nil {
			return
		}
	}
}
