package lossyfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func mount(t *testing.T) *FS { return MountForTest(t) }

func write(t *testing.T, p, data string, sync bool) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	// Errors are reported after the close: the test must not end with
	// a file open on its own FUSE mount.
	_, werr := f.WriteString(data)
	var serr error
	if sync {
		serr = f.Sync()
	}
	if err := errors.Join(werr, serr, f.Close()); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, p string) {
	t.Helper()
	d, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		t.Fatal(err)
	}
}

func crash(t *testing.T, l *FS) {
	t.Helper()
	if err := l.Crash(); err != nil {
		t.Fatal(err)
	}
}

// content returns the file's content, or "<absent>".
func content(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func expect(t *testing.T, p, want string) {
	t.Helper()
	if got := content(t, p); got != want {
		t.Errorf("%s after the crash: %q, want %q", filepath.Base(p), got, want)
	}
}

func TestFileSyncWithoutDirSyncIsLost(t *testing.T) {
	l := mount(t)
	p := filepath.Join(l.Dir, "a")
	write(t, p, "data", true)
	expect(t, p, "data") // passed through before the crash
	crash(t, l)
	expect(t, p, "<absent>")
}

func TestFileAndDirSyncSurvive(t *testing.T) {
	l := mount(t)
	p := filepath.Join(l.Dir, "a")
	write(t, p, "data", true)
	syncDir(t, l.Dir)
	crash(t, l)
	expect(t, p, "data")
}

func TestDirSyncWithoutFileSyncKeepsAnEmptyFile(t *testing.T) {
	l := mount(t)
	p := filepath.Join(l.Dir, "a")
	write(t, p, "data", false)
	syncDir(t, l.Dir)
	crash(t, l)
	expect(t, p, "")
}

func TestUnsyncedOverwriteIsLost(t *testing.T) {
	l := mount(t)
	p := filepath.Join(l.Dir, "a")
	write(t, p, "old", true)
	syncDir(t, l.Dir)
	write(t, p, "new and longer", false)
	crash(t, l)
	expect(t, p, "old")
}

func TestRenameNeedsTheDirSync(t *testing.T) {
	l := mount(t)
	p := filepath.Join(l.Dir, "a")
	write(t, p, "old", true)
	syncDir(t, l.Dir)

	write(t, p+".tmp", "new", true)
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	crash(t, l)
	expect(t, p, "old")
	expect(t, p+".tmp", "<absent>")

	write(t, p+".tmp", "new", true)
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	syncDir(t, l.Dir)
	crash(t, l)
	expect(t, p, "new")
	expect(t, p+".tmp", "<absent>")
}

func TestRenameOfAnUnsyncedFileComesBackEmpty(t *testing.T) {
	l := mount(t)
	p := filepath.Join(l.Dir, "a")
	write(t, p+".tmp", "new", false)
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	syncDir(t, l.Dir)
	crash(t, l)
	expect(t, p, "")
}

func TestUnlinkNeedsTheDirSync(t *testing.T) {
	l := mount(t)
	p := filepath.Join(l.Dir, "a")
	write(t, p, "data", true)
	syncDir(t, l.Dir)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	// The freed inode must not be mistaken for a new file.
	write(t, filepath.Join(l.Dir, "b"), "other", true)
	crash(t, l)
	expect(t, p, "data")

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	syncDir(t, l.Dir)
	crash(t, l)
	expect(t, p, "<absent>")
}

func TestSubdirectoryNeedsItsParentSynced(t *testing.T) {
	l := mount(t)
	d := filepath.Join(l.Dir, "d")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(d, "a")
	write(t, p, "data", true)
	syncDir(t, d)
	crash(t, l)
	expect(t, p, "<absent>")

	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, p, "data", true)
	syncDir(t, d)
	syncDir(t, l.Dir)
	crash(t, l)
	expect(t, p, "data")
}

func TestHardLinksStayOneFile(t *testing.T) {
	l := mount(t)
	p := filepath.Join(l.Dir, "a")
	write(t, p+".tmp", "data", true)
	if err := os.Link(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	syncDir(t, l.Dir)
	crash(t, l)
	expect(t, p, "data")
	expect(t, p+".tmp", "data")
	a, _ := os.Stat(p)
	b, _ := os.Stat(p + ".tmp")
	if !os.SameFile(a, b) {
		t.Error("the two names of one inode came back as two files")
	}
}

func TestRmdirAndRenameOverAKeepPOSIXErrors(t *testing.T) {
	l := mount(t)
	d := filepath.Join(l.Dir, "d")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(d, "a"), "x", false)
	if err := os.Remove(d); err == nil {
		t.Error("rmdir of a non-empty directory succeeded")
	}
	if err := os.Rename(filepath.Join(d, "a"), d); err == nil {
		t.Error("renaming a file over a directory succeeded")
	}
	if err := os.Remove(filepath.Join(d, "a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(d); err != nil {
		t.Fatal(err)
	}
}
