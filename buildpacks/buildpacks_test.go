package buildpacks

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinOrder(t *testing.T) {
	want := []string{"go", "node", "python", "static", "procfile"}
	got := Builtin()
	if !slices.Equal(got, want) {
		t.Fatalf("Builtin() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if Builtin()[0] != "go" {
		t.Fatal("Builtin returned its internal slice")
	}
}

func TestExtract(t *testing.T) {
	dir := t.TempDir()
	if err := Extract(dir); err != nil {
		t.Fatal(err)
	}
	// A second run overwrites in place, including a modified script.
	if err := os.WriteFile(filepath.Join(dir, "go", "bin", "detect"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Extract(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range Builtin() {
		for _, script := range []string{"detect", "compile", "release"} {
			p := filepath.Join(dir, name, "bin", script)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o755 {
				t.Errorf("%s: mode %v, want 0755", p, fi.Mode())
			}
			data, _ := os.ReadFile(p)
			if !strings.HasPrefix(string(data), "#!/usr/bin/env bash\n") {
				t.Errorf("%s: does not start with a bash shebang", p)
			}
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "go", "bin"))
	if len(entries) != 3 {
		t.Errorf("go/bin has %d entries, want 3 (temporary files left behind?)", len(entries))
	}
}

// TestDetect runs every built-in bin/detect against small trees.
func TestDetect(t *testing.T) {
	bpDir := t.TempDir()
	if err := Extract(bpDir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		files []string
		want  string // first buildpack whose detect passes, "" for none
		name  string
	}{
		{[]string{"go.mod", "main.go", "Procfile"}, "go", "Go"},
		{[]string{"package.json", "index.html"}, "node", "Node.js"},
		{[]string{"requirements.txt"}, "python", "Python"},
		{[]string{"pyproject.toml"}, "python", "Python"},
		{[]string{"app.py", "Procfile"}, "python", "Python"},
		{[]string{"app.py"}, "", ""},
		{[]string{"index.html"}, "static", "Static"},
		{[]string{"public/style.css"}, "static", "Static"},
		{[]string{"Procfile", "run.sh"}, "procfile", "Procfile"},
		{[]string{"README"}, "", ""},
	} {
		app := t.TempDir()
		for _, f := range tc.files {
			p := filepath.Join(app, f)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, name := "", ""
		for _, bp := range Builtin() {
			out, err := exec.Command(filepath.Join(bpDir, bp, "bin", "detect"), app).Output()
			if err == nil {
				got, name = bp, strings.TrimSpace(string(out))
				break
			}
		}
		if got != tc.want || name != tc.name {
			t.Errorf("%q: detected %q (%q), want %q (%q)", tc.files, got, name, tc.want, tc.name)
		}
	}
}
