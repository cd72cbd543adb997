package builder

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"paas"
	"paas/internal/gittest"
	"paas/internal/syncbuf"
)

func TestExtractTar(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	err := extractTar(tarball(t,
		file{name: "./", dir: true},
		file{name: "src/", dir: true},
		file{name: "src/run", body: "#!/bin/sh\n", mode: 0o775},
		file{name: "src/data.txt", body: "data", mode: 0o600},
		file{name: "deep/er/file", body: "x"},
		file{name: "self", link: "src"},
		file{name: "abs", link: "/etc/passwd"},
		file{name: "src/data.txt", body: "replaced"},
	), dir)
	must(t, err)
	for name, want := range map[string]os.FileMode{"src/run": 0o755, "src/data.txt": 0o644, "deep/er/file": 0o644} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "self", "data.txt")); string(data) != "replaced" {
		t.Errorf("repeated entry: got %q", data)
	}
	for name, want := range map[string]string{"self": "src", "abs": "/etc/passwd"} {
		if got, err := os.Readlink(filepath.Join(dir, name)); err != nil || got != want {
			t.Errorf("symlink %s -> %q (%v), want %q", name, got, err, want)
		}
	}
}

func TestExtractTarUnsafe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files []file
		msg   string
	}{
		{"dotdot", []file{{name: "ok", body: "x"}, {name: "../evil", body: "x"}}, `source archive: unsafe path "../evil"`},
		{"inner dotdot", []file{{name: "a/../../evil", body: "x"}}, `source archive: unsafe path "a/../../evil"`},
		{"absolute", []file{{name: "/tmp/evil", body: "x"}}, `source archive: unsafe path "/tmp/evil"`},
		{"through symlink", []file{{name: "out", link: "../outside"}, {name: "out/evil", body: "x"}}, `source archive: cannot write "out/evil"`},
		{"through absolute symlink", []file{{name: "out", link: "OUTSIDE"}, {name: "out/evil", body: "x"}}, `source archive: cannot write "out/evil"`},
		{"file over symlink dir", []file{{name: "out", link: "OUTSIDE"}, {name: "out/sub/evil", body: "x"}}, `source archive: cannot write "out/sub/evil"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			dir := filepath.Join(parent, "slug")
			outside := filepath.Join(parent, "outside")
			must(t, os.Mkdir(dir, 0o755))
			must(t, os.Mkdir(outside, 0o755))
			for i := range tc.files {
				tc.files[i].link = strings.ReplaceAll(tc.files[i].link, "OUTSIDE", outside)
			}
			err := extractTar(tarball(t, tc.files...), dir)
			var pe *paas.Error
			if !errors.As(err, &pe) || pe.Msg != tc.msg {
				t.Fatalf("got %v, want %q", err, tc.msg)
			}
			for _, p := range []string{filepath.Join(parent, "evil"), filepath.Join(outside, "evil"), filepath.Join(outside, "sub"), "/tmp/evil"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

func TestBuildRejectsUnsafeTar(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	msg, _ := buildErr(t, b, Request{Source: tarball(t,
		file{name: "Procfile", body: "web: x\n"},
		file{name: "../../../escape", body: "x"},
	)})
	if want := `source archive: unsafe path "../../../escape"`; msg != want {
		t.Errorf("got %q, want %q", msg, want)
	}
	if _, err := os.Stat(filepath.Join(b.cfg.SlugsDir, "escape")); err == nil {
		t.Error("entry escaped the slug")
	}
}

func TestBuildNotATar(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	msg, _ := buildErr(t, b, Request{Source: strings.NewReader(strings.Repeat("not a tarball ", 100))})
	if msg != "source archive: not a valid tar stream" {
		t.Errorf("got %q", msg)
	}
}

// TestBuildGitArchive builds from what git archive writes for a real
// repository, executable bits and symlinks included.
func TestBuildGitArchive(t *testing.T) {
	t.Parallel()
	repo := gitRepo(t)
	gittest.WriteFiles(t, repo, map[string]string{"Procfile": "web: ./start\n", "lib/x.txt": "x"})
	must(t, os.WriteFile(filepath.Join(repo, "start"), []byte("#!/bin/sh\necho started\n"), 0o755))
	must(t, os.Symlink("lib/x.txt", filepath.Join(repo, "x")))
	gittest.Git(t, repo, "add", ".")
	gittest.Git(t, repo, "commit", "--quiet", "-m", "app")
	commit := gittest.Git(t, repo, "rev-parse", "HEAD")
	archive, err := exec.Command("git", "-C", repo, "archive", "--format=tar", commit).Output()
	must(t, err)

	b := testBuilder(t, 0)
	res, _ := build(t, b, Request{Commit: commit, Source: strings.NewReader(string(archive))})
	got, err := exec.Command(filepath.Join(res.Slug, "start")).Output()
	if err != nil || string(got) != "started\n" {
		t.Errorf("./start: %q, %v", got, err)
	}
	if l, err := os.Readlink(filepath.Join(res.Slug, "x")); err != nil || l != "lib/x.txt" {
		t.Errorf("symlink x -> %q (%v)", l, err)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	for n := 1; n <= 2; n++ {
		build(t, b, Request{App: "gone", Build: n, Source: tarball(t, file{name: "Procfile", body: "web: x\n"})})
	}
	build(t, b, Request{App: "kept", Source: tarball(t, file{name: "Procfile", body: "web: x\n"})})
	// A read-only directory, as the Go module cache makes, must not stop
	// the removal.
	ro := filepath.Join(b.cfg.CacheDir, "gone", "cache", "ro")
	must(t, os.MkdirAll(filepath.Join(ro, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(ro, "sub", "f"), []byte("x"), 0o444))
	must(t, os.Chmod(filepath.Join(ro, "sub"), 0o555))
	must(t, os.Chmod(ro, 0o555))

	must(t, b.Remove("gone"))
	for _, p := range []string{filepath.Join(b.cfg.SlugsDir, "gone"), filepath.Join(b.cfg.CacheDir, "gone")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there (%v)", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(b.cfg.SlugsDir, "kept", "b1")); err != nil {
		t.Errorf("other app's slug removed: %v", err)
	}
	if err := b.Remove("../kept"); err == nil {
		t.Error("Remove accepted an invalid app name")
	}
}

func TestBuildInvalidRequest(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	for _, req := range []Request{
		{App: "../x", Build: 1, Source: strings.NewReader("")},
		{App: "app", Build: 0, Source: strings.NewReader("")},
		{App: "app", Build: 1},
	} {
		if _, err := b.Build(t.Context(), req); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1023: "1023B", 1024: "1.0K", 1258291: "1.2M", 5 << 30: "5.0G"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestIndentWriter(t *testing.T) {
	var out syncbuf.Buffer
	w := indent(&out)
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\nthree"))
	w.Flush()
	if got, want := out.String(), "       one\n       two\n       three\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzExtractTar feeds arbitrary tar streams to the extractor and checks
// that nothing lands outside the target directory.
func FuzzExtractTar(f *testing.F) {
	seed := func(files ...file) []byte {
		data, err := io.ReadAll(tarball(f, files...))
		must(f, err)
		return data
	}
	f.Add(seed(file{name: "a/b", body: "x"}, file{name: "l", link: "a"}, file{name: "l/c", body: "y"}))
	f.Add(seed(file{name: "out", link: ".."}, file{name: "out/evil", body: "x"}))
	f.Add(seed(file{name: "../evil", body: "x"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "slug")
		must(t, os.Mkdir(dir, 0o755))
		extractTar(strings.NewReader(string(data)), dir)
		entries, err := os.ReadDir(parent)
		must(t, err)
		if len(entries) != 1 {
			t.Fatalf("extraction wrote outside its directory: %v", entries)
		}
	})
}
