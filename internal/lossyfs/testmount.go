package lossyfs

import (
	"os"
	"path/filepath"
	"testing"
)

// MountForTest mounts a lossy FS over a new directory of the test,
// unmounted when the test ends; it skips the test when the kernel or the
// process cannot mount FUSE.
func MountForTest(t testing.TB) *FS {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs FUSE (/dev/fuse)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount FUSE")
	}
	dir := t.TempDir()
	l, err := Mount(filepath.Join(dir, "base"), filepath.Join(dir, "mnt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
