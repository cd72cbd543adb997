package owner

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root (CAP_CHOWN)")
	}
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(filepath.Join(outside, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "tree")
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"top", "a/one", "a/b/two"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Links out of the tree: to a file, and to a directory.
	if err := os.Symlink(secret, filepath.Join(dir, "a", "file-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "c", "dir-link")); err != nil {
		t.Fatal(err)
	}

	const uid, gid = 123457, 123458
	if err := Tree(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".", "a", "a/b", "c", "top", "a/one", "a/b/two", "a/file-link", "c/dir-link"} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s is owned by %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
		}
	}
	for _, p := range []string{outside, secret, filepath.Join(outside, "sub")} {
		if mine, err := Owns(p, 0); err != nil || !mine {
			t.Errorf("%s outside the tree changed owner (%v)", p, err)
		}
	}
	if mine, err := Owns(dir, uid); err != nil || !mine {
		t.Errorf("Owns(%s, %d) = %v, %v", dir, uid, mine, err)
	}
}
