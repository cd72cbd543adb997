package gateway

import (
	"bytes"
	"path/filepath"
	"testing"

	"paas/internal/lossyfs"
)

// TestHostKeySurvivesACrash creates the host key on a file system that
// loses what was not fsynced when the machine crashes: afterwards the
// same key loads, not an empty file that stops paasd, nor a new key that
// every client would refuse.
func TestHostKeySurvivesACrash(t *testing.T) {
	l := lossyfs.MountForTest(t)
	path := filepath.Join(l.Dir, "data", "ssh_host_ed25519_key")
	created, err := loadOrCreateHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Crash(); err != nil {
		t.Fatal(err)
	}
	loaded, err := loadOrCreateHostKey(path)
	if err != nil {
		t.Fatalf("the host key after a crash: %v", err)
	}
	if !bytes.Equal(created.PublicKey().Marshal(), loaded.PublicKey().Marshal()) {
		t.Fatal("the host key changed across a crash")
	}
}
