package gateway

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/cache"
	gitobject "github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"paas"
)

// tarEntry is one entry of a test archive.
type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t testing.TB, gz bool, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: mode, Linkname: e.link, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	if !gz {
		return buf.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(buf.Bytes())
	zw.Close()
	return z.Bytes()
}

// lsTree writes the archive into a new bare repo and lists its tree with
// the real git, after git fsck --strict checked every object.
func lsTree(t *testing.T, archive []byte) (string, error) {
	t.Helper()
	repo := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", "--bare", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	st := filesystem.NewStorage(osfs.New(repo), cache.NewObjectLRUDefault())
	tree, _, err := archiveTree(st, bytes.NewReader(archive))
	if err != nil {
		return "", err
	}
	commit, err := writeCommit(st, tree, "", "alice", "Deploy from archive", time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Env = append(baseEnv(), "GIT_DIR="+repo)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %q: %v: %s", args, err, out)
		}
		return string(out)
	}
	git("fsck", "--strict", "--no-dangling", commit.String())
	if got := git("log", "-1", "--format=%an <%ae> %s", commit.String()); got != "alice <alice@paas> Deploy from archive\n" {
		t.Errorf("commit %q", got)
	}
	return git("ls-tree", "-r", "--format=%(objectmode) %(path)", commit.String()), nil
}

func TestArchiveTree(t *testing.T) {
	for _, gz := range []bool{false, true} {
		// One top-level directory: stripped.
		got, err := lsTree(t, makeTar(t, gz,
			tarEntry{name: "app-1.0/", typ: tar.TypeDir, mode: 0o755},
			tarEntry{name: "app-1.0/Procfile", body: "web: bin/run\n"},
			tarEntry{name: "app-1.0/bin/run", body: "#!/bin/sh\n", mode: 0o700},
			tarEntry{name: "app-1.0/bin/link", typ: tar.TypeSymlink, link: "../Procfile"},
			tarEntry{name: "app-1.0/empty/", typ: tar.TypeDir, mode: 0o755},
			tarEntry{name: "app-1.0/.git/config", body: "[core]\n\tfsmonitor = id\n"},
			tarEntry{name: "app-1.0/sub/.GIT/hooks/x", body: "x"},
			tarEntry{name: "app-1.0/a.b", body: "sorts before the directory a"},
			tarEntry{name: "app-1.0/a/x", body: "in a"},
			tarEntry{name: "app-1.0/Procfile", body: "web: bin/run again\n"},
		))
		if err != nil {
			t.Fatalf("gz %v: %v", gz, err)
		}
		want := "100644 Procfile\n100644 a.b\n100644 a/x\n120000 bin/link\n100755 bin/run\n"
		if got != want {
			t.Errorf("gz %v: tree\n%s\nwant\n%s", gz, got, want)
		}
	}
	// Two top-level entries, and ./ names: kept as they are.
	got, err := lsTree(t, makeTar(t, true,
		tarEntry{name: "./", typ: tar.TypeDir, mode: 0o755},
		tarEntry{name: "./app/main.go", body: "package main\n"},
		tarEntry{name: "./go.mod", body: "module app\n"},
	))
	if err != nil || got != "100644 app/main.go\n100644 go.mod\n" {
		t.Errorf("tree %q, %v", got, err)
	}
}

func TestArchiveTreeRefused(t *testing.T) {
	var big bytes.Buffer
	big.WriteString("PK\x03\x04")
	for _, tc := range []struct {
		what    string
		archive []byte
		want    string
	}{
		{"empty", nil, "nothing on stdin"},
		{"zip", []byte("PK\x03\x04 a zip archive ..............."), "not a tar or tar.gz archive"},
		{"text", []byte(strings.Repeat("hello\n", 200)), "not a tar or tar.gz archive"},
		{"broken gzip", []byte{0x1f, 0x8b, 8, 0, 0, 0}, "the archive is not a valid gzip stream"},
		{"no files", makeTar(t, true, tarEntry{name: "d/", typ: tar.TypeDir, mode: 0o755}), "the archive holds no files"},
		{"dotdot", makeTar(t, true, tarEntry{name: "a/../../etc/passwd", body: "x"}), `unsafe path "a/../../etc/passwd"`},
		{"absolute", makeTar(t, false, tarEntry{name: "/etc/passwd", body: "x"}), `unsafe path "/etc/passwd"`},
		{"absolute link", makeTar(t, true, tarEntry{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"}), `symbolic link "l" points outside`},
		{"climbing link", makeTar(t, true, tarEntry{name: "a/l", typ: tar.TypeSymlink, link: "../../x"}, tarEntry{name: "b", body: "b"}), `symbolic link "a/l" points outside`},
		{"link out once stripped", makeTar(t, true, tarEntry{name: "top/l", typ: tar.TypeSymlink, link: "../x"}, tarEntry{name: "top/f", body: "f"}), `symbolic link "l" points outside`},
		{"device", makeTar(t, true, tarEntry{name: "dev", typ: tar.TypeChar}), `"dev" is not a file, directory or symbolic link`},
		{"fifo", makeTar(t, true, tarEntry{name: "p", typ: tar.TypeFifo}), `"p" is not a file`},
		{"hard link", makeTar(t, true, tarEntry{name: "f", body: "x"}, tarEntry{name: "h", typ: tar.TypeLink, link: "f"}), `"h" is not a file`},
		{"file then dir", makeTar(t, true, tarEntry{name: "a", body: "x"}, tarEntry{name: "a/b", body: "y"}), `"a" both as a file and as a directory`},
		{"dir then file", makeTar(t, true, tarEntry{name: "a/b", body: "y"}, tarEntry{name: "a", body: "x"}), `"a" both as a directory and as a file`},
		{"truncated", makeTar(t, false, tarEntry{name: "f", body: strings.Repeat("x", 4096)})[:1500], "the archive is not a valid tar stream"},
	} {
		_, _, err := archiveTree(memory.NewStorage(), bytes.NewReader(tc.archive))
		var pe *paas.Error
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, tc.want) {
			t.Errorf("%s: got %v, want a user error with %q", tc.what, err, tc.want)
		}
	}
}

func TestLimitedReader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		over bool
	}{{"12345", false}, {"123456", true}} {
		lr := &limitedReader{r: strings.NewReader(tc.in), n: 5}
		var out bytes.Buffer
		_, err := out.ReadFrom(lr)
		if lr.over != tc.over || (err != nil) != tc.over || out.String() != "12345" {
			t.Errorf("%q: read %q, over %v, err %v", tc.in, out.String(), lr.over, err)
		}
	}
}

// FuzzArchiveTree reads any input as an archive: it fails with a user
// error or makes a tree whose paths are all safe.
func FuzzArchiveTree(f *testing.F) {
	f.Add(makeTar(f, false, tarEntry{name: "a/b", body: "x"}, tarEntry{name: "a/l", typ: tar.TypeSymlink, link: "b"}))
	f.Add(makeTar(f, true, tarEntry{name: "top/f", body: "x"}))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, in []byte) {
		st := memory.NewStorage()
		h, _, err := archiveTree(st, bytes.NewReader(in))
		if err == nil {
			tree, err := gitobject.GetTree(st, h)
			if err != nil {
				t.Fatal(err)
			}
			tree.Files().ForEach(func(f *gitobject.File) error {
				for _, part := range strings.Split(f.Name, "/") {
					if part == ".." || part == "." || part == "" || strings.EqualFold(part, ".git") {
						t.Fatalf("unsafe path %q in the tree", f.Name)
					}
				}
				return nil
			})
			return
		}
		var pe *paas.Error
		if !errors.As(err, &pe) || strings.Contains(pe.Msg, "\n") {
			t.Fatalf("error %v is not one user-facing line", err)
		}
	})
}
