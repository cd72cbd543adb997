package stack

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a\040b`:   "/tmp/a b",
		`/plain`:        "/plain",
		`/tab\011x\134`: "/tab\tx\\",
		`/short\04`:     `/short\04`,
		`/not\999octl`:  `/not\999octl`,
	} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// An interrupted debootstrap leaves mounts in the root: removing the
// scratch directory detaches them first and never deletes through them.
func TestRemoveScratchDetachesMounts(t *testing.T) {
	scratch, err := makeScratch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	proc := filepath.Join(scratch, "root", "proc")
	if err := os.MkdirAll(proc, 0o755); err != nil {
		t.Fatal(err)
	}
	// A bind mount of a directory whose content must survive.
	keep := t.TempDir()
	if err := os.WriteFile(filepath.Join(keep, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(keep, proc, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount here (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(proc, syscall.MNT_DETACH) })
	if mps, err := mountsUnder(scratch); err != nil || len(mps) != 1 || mps[0] != proc {
		t.Fatalf("mountsUnder = %q, %v; want [%s]", mps, err, proc)
	}
	if err := removeScratch(scratch); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(scratch); !os.IsNotExist(err) {
		t.Errorf("scratch still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(keep, "precious")); err != nil {
		t.Errorf("content of the mounted directory deleted: %v", err)
	}
}
