package stack

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestInstallCABundle(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Debian's bundle replaced by a symlink leading out of the root: the
	// install must replace the link, not write through it.
	if err := os.MkdirAll(filepath.Join(root, "etc/ssl/certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "host.crt")
	if err := os.WriteFile(bundle, []byte("HOST CA BUNDLE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := installCABundle(root, bundle, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc/ssl/certs/ca-certificates.crt", "usr/local/share/ca-certificates/host-ca.crt"} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(root, p))
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 || string(data) != "HOST CA BUNDLE\n" {
			t.Errorf("%s: mode %v, content %q", p, fi.Mode(), data)
		}
	}
	if data, _ := os.ReadFile(outside); string(data) != "untouched" {
		t.Errorf("file outside the root written: %q", data)
	}
	if err := installCABundle(root, filepath.Join(t.TempDir(), "missing.crt"), io.Discard); err == nil {
		t.Error("a named bundle that does not exist was accepted")
	}
}

func TestCleanRoot(t *testing.T) {
	root := t.TempDir()
	files := map[string]bool{ // path -> kept
		"var/cache/apt/archives/bash_5.2_amd64.deb": false,
		"var/cache/apt/archives/lock":               true,
		"var/cache/apt/pkgcache.bin":                false,
		"var/lib/apt/lists/deb.debian.org_Packages": false,
		"var/lib/apt/lists/lock":                    true,
		"var/lib/apt/lists/partial/x":               true,
		"etc/apt/sources.list":                      true,
		unsafeIOConf:                                false,
	}
	for p := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := cleanRoot(root); err != nil {
		t.Fatal(err)
	}
	for p, kept := range files {
		_, err := os.Stat(filepath.Join(root, p))
		if (err == nil) != kept {
			t.Errorf("%s: kept=%v, want %v", p, err == nil, kept)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "app")); err != nil || !fi.IsDir() {
		t.Errorf("/app not made: %v", err)
	}
}
