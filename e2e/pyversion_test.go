package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPythonVersionRequest pushes a Python app whose runtime.txt asks for
// a Python the server may not have: the build says which version was asked
// for and which one builds the app, never nothing.
func TestPythonVersionRequest(t *testing.T) {
	forEachRuntime(t, testPythonVersionRequest)
}

func testPythonVersionRequest(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt)
	const app = "py-runtime-txt"
	dir := s.newRepo("pyruntime", app)
	r := s.push(dir, "paas", "main")
	requireOK(t, "push", r)
	// The stack has Python 3.11; the host may have 3.12.1 too.
	mismatch := regexp.MustCompile(`remote:  !     runtime\.txt asks for python-3\.12\.1; the (stack|host) has Python (3\.[0-9]+\.[0-9]+): building with (3\.[0-9]+\.[0-9]+) *\n`)
	m := mismatch.FindStringSubmatch(r.stderr)
	switch {
	case m != nil:
		if m[2] != m[3] || (rt == "docker") != (m[1] == "stack") {
			t.Fatalf("warning %q", m[0])
		}
		s.mustGet(app, "/", "python "+m[2]+"\n")
	case rt == "exec" && strings.Contains(r.stderr, "runtime.txt asks for python-3.12.1: building with Python 3.12.1 "):
		s.mustGet(app, "/", "python 3.12.1\n")
	default:
		t.Fatalf("the build does not say which Python it used for runtime.txt:\n%s", r.stderr)
	}

	// A .python-version the server satisfies is named with the version
	// that builds it.
	if err := os.Remove(filepath.Join(dir, "runtime.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".python-version"), []byte("# pyenv\n3.11\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.commitAll(dir, ".python-version")
	r = s.push(dir, "paas", "main")
	requireOK(t, "push", r)
	ok := regexp.MustCompile(`remote:        \.python-version asks for 3\.11: building with Python (3\.11\.[0-9]+) *\n`).FindStringSubmatch(r.stderr)
	if ok == nil || strings.Contains(r.stderr, " !     .python-version") {
		t.Fatalf("no line naming the .python-version request:\n%s", r.stderr)
	}
	s.mustGet(app, "/", "python "+ok[1]+"\n")
}
