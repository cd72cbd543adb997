package durable

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"paas/internal/lossyfs"
)

func mount(t *testing.T) *lossyfs.FS { return lossyfs.MountForTest(t) }

func TestWriteFileSurvivesACrash(t *testing.T) {
	l := mount(t)
	p := filepath.Join(l.Dir, "a", "b", "file")
	if err := MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := l.Crash(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "new" {
		t.Fatalf("after the crash: %q, %v; want \"new\"", b, err)
	}
	ents, err := os.ReadDir(filepath.Dir(p))
	if err != nil || len(ents) != 1 {
		t.Errorf("after the crash the directory holds %v (%v), want only the file", ents, err)
	}
	if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("mode after the crash: %v, %v; want 0640", info.Mode(), err)
	}
}

func TestSyncTreeMakesATreeDurable(t *testing.T) {
	l := mount(t)
	root := filepath.Join(l.Dir, "repo")
	for _, d := range []string{"objects/ab", "refs/heads"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"objects/ab/cdef", "refs/heads/main", "HEAD"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := SyncTree(root, true); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(l.Dir); err != nil {
		t.Fatal(err)
	}
	if err := l.Crash(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"objects/ab/cdef", "refs/heads/main", "HEAD"} {
		if b, err := os.ReadFile(filepath.Join(root, f)); err != nil || string(b) != f {
			t.Errorf("%s after the crash: %q, %v", f, b, err)
		}
	}
}

// TestSyncTreeSkipsWhatVanishes walks a tree in which another process
// keeps creating and removing directories and files, as a concurrent
// push does with its quarantine: what vanishes during the walk is not
// an error, while a root that is missing is.
func TestSyncTreeSkipsWhatVanishes(t *testing.T) {
	root := t.TempDir()
	stop := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			d := filepath.Join(root, fmt.Sprintf("tmp_objdir-%d", i%8))
			os.MkdirAll(filepath.Join(d, "ab", "cd"), 0o755)
			os.WriteFile(filepath.Join(d, "ab", "f"), []byte("x"), 0o644)
			os.RemoveAll(d)
		}
	}()
	for range 300 {
		if err := SyncTree(root, true); err != nil {
			close(stop)
			<-churned
			t.Fatalf("SyncTree of a tree that changes: %v", err)
		}
	}
	close(stop)
	<-churned
	if err := SyncTree(filepath.Join(root, "missing"), false); err == nil {
		t.Fatal("SyncTree of a missing root succeeded")
	}
}
