package stack

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteTree(t *testing.T) {
	root := t.TempDir()
	mustDo := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	mustDo(os.Mkdir(filepath.Join(root, "tmp"), 0o755))
	mustDo(os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky))
	mustDo(os.WriteFile(filepath.Join(root, "usr/bin/tool"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	mustDo(os.WriteFile(filepath.Join(root, "secret"), []byte("s"), 0o640))
	mustDo(os.WriteFile(filepath.Join(root, "usr/bin/su"), []byte("su"), 0o755))
	mustDo(os.Chmod(filepath.Join(root, "usr/bin/su"), 0o755|os.ModeSetuid))
	mustDo(os.WriteFile(filepath.Join(root, "empty"), nil, 0o644))
	mustDo(os.Symlink("usr/bin", filepath.Join(root, "bin")))
	mustDo(os.Link(filepath.Join(root, "usr/bin/tool"), filepath.Join(root, "usr/bin/tool2")))
	mustDo(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600))
	asRoot := os.Geteuid() == 0
	if asRoot {
		mustDo(os.Chown(filepath.Join(root, "secret"), 1234, 5678))
		mustDo(syscall.Mknod(filepath.Join(root, "null"), syscall.S_IFCHR|0o666, 1<<8|3))
	}

	var buf bytes.Buffer
	if err := writeTree(&buf, root); err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	var order []string
	bodies := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name], bodies[h.Name] = h, string(b)
		order = append(order, h.Name)
	}
	t.Logf("entries: %q", order)

	check := func(name string, typ byte, mode int64) *tar.Header {
		t.Helper()
		h := got[name]
		if h == nil {
			t.Fatalf("%s missing from the archive", name)
		}
		if h.Typeflag != typ || h.Mode&0o7777 != mode {
			t.Errorf("%s: type %q mode %o, want %q %o", name, h.Typeflag, h.Mode&0o7777, typ, mode)
		}
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner names %q/%q carried over from the host", name, h.Uname, h.Gname)
		}
		return h
	}
	check("usr/", tar.TypeDir, 0o755)
	check("tmp/", tar.TypeDir, 0o1777)
	check("usr/bin/tool", tar.TypeReg, 0o755)
	if bodies["usr/bin/tool"] != "#!/bin/sh\necho hi\n" {
		t.Errorf("tool body %q", bodies["usr/bin/tool"])
	}
	if h := check("usr/bin/tool2", tar.TypeLink, 0o755); h.Linkname != "usr/bin/tool" {
		t.Errorf("hard link to %q", h.Linkname)
	}
	check("usr/bin/su", tar.TypeReg, 0o4755)
	check("empty", tar.TypeReg, 0o644)
	if h := check("bin", tar.TypeSymlink, 0o777); h.Linkname != "usr/bin" {
		t.Errorf("symlink to %q", h.Linkname)
	}
	check("fifo", tar.TypeFifo, 0o600)
	h := check("secret", tar.TypeReg, 0o640)
	if asRoot && (h.Uid != 1234 || h.Gid != 5678) {
		t.Errorf("secret owned by %d:%d, want 1234:5678", h.Uid, h.Gid)
	}
	if _, ok := got["null"]; ok {
		t.Error("device node archived")
	}
	if _, ok := got["."]; ok {
		t.Error("root entry archived")
	}
}
