package store

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestCertBlobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paas.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return at }
	for _, k := range []string{"a/b/c", "a/b/d", "a/bc", "a", "z"} {
		if err := s.PutCertBlob(k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutCertBlob("", []byte("x")); err == nil {
		t.Error("an empty key was stored")
	}
	b, ok, err := s.CertBlob("a/b/c")
	if err != nil || !ok || string(b.Data) != "v:a/b/c" || !b.Modified.Equal(at) || b.Key != "a/b/c" {
		t.Errorf("CertBlob = %+v, %v, %v", b, ok, err)
	}
	if _, ok, err := s.CertBlob("a/b"); ok || err != nil {
		t.Errorf("CertBlob of a mere prefix: %v, %v", ok, err)
	}
	keys, err := s.CertKeys("a/b")
	if want := []string{"a/b/c", "a/b/d", "a/bc"}; err != nil || !slices.Equal(keys, want) {
		t.Errorf("CertKeys = %q, %v; want %q", keys, err, want)
	}
	blobs, err := s.CertBlobs("a/b/")
	if err != nil || len(blobs) != 2 || string(blobs[1].Data) != "v:a/b/d" {
		t.Errorf("CertBlobs = %+v, %v", blobs, err)
	}

	// Deleting "a/b" takes a/b/... but not a/bc, nor a.
	if err := s.DeleteCertBlobs("a/b"); err != nil {
		t.Fatal(err)
	}
	keys, _ = s.CertKeys("")
	if want := []string{"a", "a/bc", "z"}; !slices.Equal(keys, want) {
		t.Errorf("after deleting a/b: %q, want %q", keys, want)
	}
	if err := s.DeleteCertBlobs("a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCertBlobs("never"); err != nil {
		t.Errorf("deleting nothing: %v", err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys, _ = s.CertKeys("")
	if want := []string{"z"}; !slices.Equal(keys, want) {
		t.Errorf("after reopening: %q, want %q", keys, want)
	}
}
