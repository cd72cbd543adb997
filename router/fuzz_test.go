package router

import (
	"strings"
	"testing"
)

func FuzzAppFor(f *testing.F) {
	for _, h := range []string{"hello.localhost", "HELLO.localhost:80", "hello.localhost.", "[::1]:80",
		"a.b.localhost", ".localhost", "localhost", "hello.localhost.:1", ""} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		app := appFor(normalizeHost(host), "localhost")
		if app == "" {
			return
		}
		if strings.Contains(app, ".") || app != strings.ToLower(app) {
			t.Fatalf("appFor(%q) = %q", host, app)
		}
		// Case, a port and a trailing dot do not change the answer.
		if again := appFor(normalizeHost(strings.ToUpper(app)+".LocalHost.:8080"), "localhost"); again != app &&
			strings.ToLower(strings.ToUpper(app)) == app {
			t.Fatalf("variant of %q gave %q", app, again)
		}
	})
}

func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", "x\r\ny", strings.Repeat("a", 200), strings.Repeat("a", 201), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id := requestID(in)
		if !validRequestID(id) {
			t.Fatalf("requestID(%q) = %q, not valid", in, id)
		}
		if validRequestID(in) != (id == in) {
			t.Fatalf("requestID(%q) = %q", in, id)
		}
	})
}
