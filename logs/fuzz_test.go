package logs

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzWrite(f *testing.F) {
	for _, s := range []string{"", "a", "a\n", "a\r\nb\r\n", "\x1b[1mx\x00", "bad\xff", "\n\n", "tab\there", "\u2028\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a := New(1000)
		a.Write("app", "app", "web.1", text)
		lines := a.Tail("app", -1, Filter{})
		want := strings.Count(strings.TrimSuffix(text, "\n"), "\n") + 1
		if len(lines) != want {
			t.Fatalf("%d lines, want %d", len(lines), want)
		}
		for _, l := range lines {
			if !utf8.ValidString(l.Text) {
				t.Fatalf("invalid UTF-8 %q", l.Text)
			}
			if len(l.Text) > MaxTextBytes+len("…") {
				t.Fatalf("line of %d bytes", len(l.Text))
			}
			for _, r := range l.Text {
				if r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f)) {
					t.Fatalf("control character %U in %q", r, l.Text)
				}
			}
			if strings.Contains(l.String(), "\n") {
				t.Fatalf("newline in %q", l.String())
			}
		}
	})
}

func FuzzFilter(f *testing.F) {
	f.Add("web", "web.1")
	f.Add("web.1", "web.1")
	f.Add("web", "webby.1")
	f.Add("", "router")
	f.Fuzz(func(t *testing.T, want, proc string) {
		l := Line{Source: "app", Proc: proc}
		got := Filter{Proc: want}.Match(l)
		exact := want == "" || want == proc
		typ := !strings.Contains(want, ".") && strings.HasPrefix(proc, want+".") && len(proc) > len(want)+1
		if got != (exact || typ) {
			t.Fatalf("Match(%q, %q) = %v", want, proc, got)
		}
	})
}
