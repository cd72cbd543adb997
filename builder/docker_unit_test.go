package builder

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paas"
)

func TestTranslate(t *testing.T) {
	maps := []pathMap{{"/data/slugs/a/b1", "/app"}, {"/data/cache/a", "/cache"}, {"/data/cache/a/home", "/cache/home"}}
	for in, want := range map[string]string{
		"/data/slugs/a/b1":          "/app",
		"/data/slugs/a/b1/bin/x":    "/app/bin/x",
		"/data/slugs/a/b10":         "/data/slugs/a/b10",
		"/data/cache/a/home/.npmrc": "/cache/home/.npmrc",
		"/data/cache/a/cache":       "/cache/cache",
		"/elsewhere":                "/elsewhere",
	} {
		if got := translate(maps, in); got != want {
			t.Errorf("translate(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestExposedPort(t *testing.T) {
	for _, tc := range []struct {
		ports map[string]struct{}
		want  int
	}{
		{nil, 0},
		{map[string]struct{}{"8080/tcp": {}}, 8080},
		{map[string]struct{}{"53/udp": {}, "9000/tcp": {}, "3000/tcp": {}}, 3000},
		{map[string]struct{}{"53/udp": {}}, 0},
		{map[string]struct{}{"junk/tcp": {}}, 0},
	} {
		if got := exposedPort(tc.ports); got != tc.want {
			t.Errorf("exposedPort(%v) = %d, want %d", tc.ports, got, tc.want)
		}
	}
}

func TestRenderBuildOutput(t *testing.T) {
	stream := `{"stream":"Step 1/2 : FROM x\n"}` + "\n" +
		`{"stream":" ---\u003e 0123456789ab\n"}{"status":"Downloading","progress":"[==>  ]","id":"l1"}` +
		`{"status":"Pull complete","id":"l1"}` + "\n" +
		`{"aux":{"ID":"sha256:1"}}` + "\n"
	var out bytes.Buffer
	var layers []string
	if err := renderBuildOutput(t.Context(), strings.NewReader(stream), &out, func(id string) { layers = append(layers, id) }); err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 || layers[0] != "0123456789ab" {
		t.Errorf("layers %q", layers)
	}
	if want := "       Step 1/2 : FROM x\n        ---> 0123456789ab\n       l1: Pull complete\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}

	stream = `{"stream":"Step 2/2 : RUN false\n"}{"errorDetail":{"code":1,"message":"The command '/bin/sh -c false'\nreturned a non-zero code: 1"},"error":"x"}`
	out.Reset()
	err := renderBuildOutput(t.Context(), strings.NewReader(stream), &out, nil)
	var pe *paas.Error
	if !errors.As(err, &pe) || pe.Msg != "Dockerfile build failed: The command '/bin/sh -c false' returned a non-zero code: 1" {
		t.Errorf("error %v", err)
	}
}

func TestWriteTree(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "bin", "run"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o600))
	must(t, os.Symlink("bin/run", filepath.Join(dir, "link")))
	var buf bytes.Buffer
	must(t, writeTree(&buf, dir, "app", 1000, 1001))
	tr := tar.NewReader(&buf)
	got := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must(t, err)
		if hdr.Uid != 1000 || hdr.Gid != 1001 {
			t.Errorf("%s owned by %d:%d", hdr.Name, hdr.Uid, hdr.Gid)
		}
		got[hdr.Name] = string(rune(hdr.Typeflag)) + " " + os.FileMode(hdr.Mode).Perm().String() + " " + hdr.Linkname
	}
	want := map[string]string{
		"app/":        "5 -rwxr-xr-x ",
		"app/bin/":    "5 -rwxr-xr-x ",
		"app/bin/run": "0 -rwxr-xr-x ",
		"app/a.txt":   "0 -rw------- ",
		"app/link":    "2 -rwxrwxrwx bin/run",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("entries %v", got)
	}
}
