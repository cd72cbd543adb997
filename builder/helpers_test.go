package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/internal/gittest"
	"paas/internal/syncbuf"
)

// file is one entry of a test tarball.
type file struct {
	name, body string
	mode       int64  // 0 means 0644 for files
	link       string // symlink target when set
	dir        bool
}

// tarball makes a tar stream like git archive's: a global pax header, then
// the entries.
func tarball(t testing.TB, files ...file) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": "0123456789abcdef0123456789abcdef01234567"}}))
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, ModTime: time.Unix(1700000000, 0)}
		switch {
		case f.dir:
			hdr.Typeflag = tar.TypeDir
			hdr.Mode = 0o775
		case f.link != "":
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = f.link
			hdr.Mode = 0o777
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.body))
			if hdr.Mode == 0 {
				hdr.Mode = 0o664
			}
		}
		must(t, tw.WriteHeader(hdr))
		if hdr.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(f.body))
			must(t, err)
		}
	}
	must(t, tw.Close())
	return &buf
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testConfig is the config of a Builder in a temporary data dir whose
// static server is a small script and which allows server buildpacks
// under one directory (vettedBuildpack).
func testConfig(t *testing.T) Config {
	t.Helper()
	data := t.TempDir()
	server := filepath.Join(data, "static-server")
	must(t, os.WriteFile(server, []byte("#!/bin/sh\necho static server \"$@\"\n"), 0o755))
	vetted := filepath.Join(data, "vetted")
	must(t, os.Mkdir(vetted, 0o755))
	return Config{
		BuildpacksDir:  filepath.Join(data, "buildpacks"),
		CacheDir:       filepath.Join(data, "cache"),
		SlugsDir:       filepath.Join(data, "slugs"),
		StaticServer:   server,
		BuildpackPaths: []string{vetted},
	}
}

// testBuilder makes a Builder of testConfig which fetches git buildpacks
// with the test binary itself (see TestMain). set, when given, changes
// the config first.
func testBuilder(t *testing.T, timeout time.Duration, set ...func(*Config)) *Builder {
	t.Helper()
	self, err := os.Executable()
	must(t, err)
	cfg := testConfig(t)
	cfg.Timeout, cfg.Binary = timeout, self
	for _, f := range set {
		f(&cfg)
	}
	b, err := New(cfg)
	must(t, err)
	return b
}

// allowLoopback is the test-only knob that lets a builder fetch git
// buildpacks from the test's git servers on 127.0.0.1.
func allowLoopback(c *Config) { c.AllowLoopbackFetch = true }

// vettedBuildpack makes a buildpack directory holding files inside the
// first directory b allows server buildpacks from, and returns its path.
func vettedBuildpack(t *testing.T, b *Builder, files map[string]string) string {
	t.Helper()
	dir, err := os.MkdirTemp(b.cfg.BuildpackPaths[0], "bp-")
	must(t, err)
	gittest.WriteFiles(t, dir, files)
	return dir
}

// build runs one build and fails the test on error.
func build(t *testing.T, b *Builder, req Request) (Result, string) {
	t.Helper()
	var out syncbuf.Buffer
	req.Out = &out
	if req.App == "" {
		req.App = "app"
	}
	if req.Build == 0 {
		req.Build = 1
	}
	if req.Commit == "" {
		req.Commit = "0123456789abcdef0123456789abcdef01234567"
	}
	res, err := b.Build(t.Context(), req)
	if err != nil {
		t.Fatalf("build failed: %v\noutput:\n%s", err, out.String())
	}
	if testing.Verbose() {
		t.Logf("output:\n%s", out.String())
	}
	return res, out.String()
}

// buildErr runs a build that must fail with a user-facing error, checks
// that it left no slug, and returns the error message and the output.
func buildErr(t *testing.T, b *Builder, req Request) (string, string) {
	t.Helper()
	var out syncbuf.Buffer
	req.Out = &out
	if req.App == "" {
		req.App = "app"
	}
	if req.Build == 0 {
		req.Build = 1
	}
	_, err := b.Build(t.Context(), req)
	if err == nil {
		t.Fatalf("build succeeded, want an error; output:\n%s", out.String())
	}
	var pe *paas.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *paas.Error; output:\n%s", err, err, out.String())
	}
	slug := filepath.Join(b.cfg.SlugsDir, req.App, "b1")
	if _, err := os.Stat(slug); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed build left %s behind (stat: %v)", slug, err)
	}
	return pe.Msg, out.String()
}

// gitRepo makes a git repository in a new temp dir holding files, commits
// them and returns the directory.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gittest.Git(t, dir, "init", "--quiet", "--initial-branch=main")
	return dir
}

// startBuild starts req on b in the background, its output to a new
// buffer, and waits up to wait for the output to say "started" (the
// buildpack's compile is running). It returns the channel the build's
// error comes on.
func startBuild(t *testing.T, ctx context.Context, b *Builder, req Request, wait time.Duration) <-chan error {
	t.Helper()
	out := &syncbuf.Buffer{}
	req.Out = out
	errc := make(chan error, 1)
	go func() {
		_, err := b.Build(ctx, req)
		errc <- err
	}()
	deadline := time.Now().Add(wait)
	for !strings.Contains(out.String(), "started") {
		if time.Now().After(deadline) {
			t.Fatalf("compile did not start:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errc
}

func contains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
