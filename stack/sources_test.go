package stack

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseDeb822(t *testing.T) {
	const src = `# The main archive
Types: deb deb-src
# a comment inside a stanza
URIs: http://mirror.example/debian/
 http://second.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

types: deb
uris: mirror+file:/etc/apt/mirrors.txt https://third.example/debian
suites: bookworm
`
	got := parseDeb822(strings.NewReader(src), "bookworm")
	want := []string{"http://mirror.example/debian", "http://second.example/debian", "https://third.example/debian"}
	if !slices.Equal(got, want) {
		t.Errorf("parseDeb822 = %q, want %q", got, want)
	}
	if got := parseDeb822(strings.NewReader(src), "trixie"); len(got) != 0 {
		t.Errorf("parseDeb822 for trixie = %q, want none", got)
	}
}

func TestParseOneLine(t *testing.T) {
	const src = `# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb http://other.example/debian bullseye main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] https://opts.example/debian/ bookworm main # trailing
deb [ trusted=yes ] http://spaced.example/debian bookworm main
deb cdrom:[Debian GNU/Linux 12]/ bookworm main
deb http://plain.example/debian bookworm main contrib
deb http://plain.example/debian bookworm-updates main
`
	got := parseOneLine(strings.NewReader(src), "bookworm")
	want := []string{"https://opts.example/debian", "http://spaced.example/debian", "http://plain.example/debian"}
	if !slices.Equal(got, want) {
		t.Errorf("parseOneLine = %q, want %q", got, want)
	}
}

func TestHostMirror(t *testing.T) {
	write := func(t *testing.T, path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("deb822 first", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "sources.list"), "deb http://oneline.example/debian bookworm main\n")
		write(t, filepath.Join(dir, "sources.list.d", "a-third-party.sources"), "Types: deb\nURIs: https://vendor.example/apt\nSuites: nodistro\n")
		write(t, filepath.Join(dir, "sources.list.d", "debian.sources"), "Types: deb\nURIs: http://deb822.example/debian\nSuites: bookworm\n")
		if got := HostMirror(dir); got != "http://deb822.example/debian" {
			t.Errorf("HostMirror = %q", got)
		}
	})
	t.Run("sources.list", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "sources.list"), "deb http://oneline.example/debian bookworm main\n")
		write(t, filepath.Join(dir, "sources.list.d", "x.list"), "deb http://list.example/debian bookworm main\n")
		write(t, filepath.Join(dir, "sources.list.d", "y.sources.disabled"), "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\n")
		if got := HostMirror(dir); got != "http://oneline.example/debian" {
			t.Errorf("HostMirror = %q", got)
		}
	})
	t.Run("list.d", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "sources.list.d", "x.list"), "deb http://list.example/debian bookworm main\n")
		if got := HostMirror(dir); got != "http://list.example/debian" {
			t.Errorf("HostMirror = %q", got)
		}
	})
	t.Run("default", func(t *testing.T) {
		if got := HostMirror(t.TempDir()); got != DefaultMirror {
			t.Errorf("HostMirror = %q, want %q", got, DefaultMirror)
		}
	})
}

func TestHostSecurityMirror(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	deb822 := "Types: deb\nURIs: http://main.example/debian\nSuites: bookworm bookworm-updates\n\n" +
		"Types: deb\nURIs: http://security.example/debian-security/\nSuites: bookworm-security\n"
	if err := os.WriteFile(filepath.Join(dir, "sources.list.d", "debian.sources"), []byte(deb822), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := HostSecurityMirror(dir); got != "http://security.example/debian-security" {
		t.Errorf("HostSecurityMirror = %q", got)
	}
	if got := HostMirror(dir); got != "http://main.example/debian" {
		t.Errorf("HostMirror = %q", got)
	}
	if got := HostSecurityMirror(t.TempDir()); got != DefaultSecurityMirror {
		t.Errorf("HostSecurityMirror of no sources = %q, want %q", got, DefaultSecurityMirror)
	}
}
