package stack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paas"
)

// These tests fail before the engine is needed, so they pass no client.

func TestBuildWithoutDebootstrap(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := build(context.Background(), nil, Options{Image: "paas-test/stack:none", Mirror: "http://mirror.invalid/debian"}.withDefaults())
	var pe *paas.Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "apt-get install debootstrap") {
		t.Fatalf("err = %v, want a user-facing error naming apt-get install debootstrap", err)
	}
}

func TestBuildRejectsBadMirror(t *testing.T) {
	fakeDebootstrap(t, "exit 0")
	for _, m := range []string{"--foreign", "ftp://mirror.example/debian", "http://", "mirror.example"} {
		err := build(context.Background(), nil, Options{Image: "paas-test/stack:none", Mirror: m}.withDefaults())
		var pe *paas.Error
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "mirror") {
			t.Errorf("mirror %q: err = %v, want a user-facing error about the mirror", m, err)
		}
	}
}

func TestBuildDebootstrapFailure(t *testing.T) {
	fakeDebootstrap(t, `
root="$3"
for i in $(seq 1 40); do echo "I: Retrieving package$i 1.0" >&2; done
mkdir -p "$root/debootstrap"
echo "dpkg: error processing package brokenpkg (--configure):" > "$root/debootstrap/debootstrap.log"
echo "E: Couldn't download packages: brokenpkg" >&2
exit 1`)
	work := t.TempDir()
	var out strings.Builder
	err := build(context.Background(), nil, Options{
		Image: "paas-test/stack:none", Mirror: "http://mirror.invalid/debian", WorkDir: work, Out: &out,
	}.withDefaults())
	var pe *paas.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a user-facing error", err)
	}
	for _, want := range []string{"debootstrap failed", "exit status 1", "E: Couldn't download packages: brokenpkg", "I: Retrieving package40 1.0", "dpkg: error processing package brokenpkg"} {
		if !strings.Contains(pe.Msg, want) {
			t.Errorf("error lacks %q:\n%s", want, pe.Msg)
		}
	}
	if strings.Contains(pe.Msg, "package20 ") {
		t.Errorf("error carries more than the last lines:\n%s", pe.Msg)
	}
	if !strings.Contains(out.String(), "-----> Bootstrapping Debian bookworm from http://mirror.invalid/debian") {
		t.Errorf("progress lacks the bootstrap line:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "\n"); n > 8 {
		t.Errorf("progress shows %d lines for 41 lines of output:\n%s", n, out.String())
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Errorf("scratch left in the work directory: %v", left)
	}
}

func TestBuildArguments(t *testing.T) {
	argsFile := filepath.Join(t.TempDir(), "args")
	fakeDebootstrap(t, `printf '%s\n' "$@" > `+argsFile+`; exit 3`)
	_ = build(context.Background(), nil, Options{Image: "paas-test/stack:none", Mirror: "https://mirror.example/debian"}.withDefaults())
	data, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(args) != 4 || args[0] != "--variant=minbase" || args[1] != "bookworm" || args[3] != "https://mirror.example/debian" || !filepath.IsAbs(args[2]) {
		t.Fatalf("debootstrap args %q", args)
	}
}

// fakeDebootstrap puts a debootstrap running script first on PATH.
func fakeDebootstrap(t *testing.T, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "debootstrap"), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestBuildRejectsBadImageName(t *testing.T) {
	fakeDebootstrap(t, "echo must not run >&2; exit 1")
	err := build(context.Background(), nil, Options{Image: "Paas/Stack:Bad Name", Mirror: "http://mirror.invalid/debian"}.withDefaults())
	var pe *paas.Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "invalid stack image name") {
		t.Fatalf("err = %v, want a user-facing error about the image name", err)
	}
}
