package logs

import (
	"strings"
	"testing"
	"time"
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
		if len(lines) < want {
			t.Fatalf("%d lines, want at least %d", len(lines), want)
		}
		for _, l := range lines {
			if !utf8.ValidString(l.Text) {
				t.Fatalf("invalid UTF-8 %q", l.Text)
			}
			if len(l.Text) > MaxTextBytes {
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

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"10m", "2d", "1h30m", "2026-11-26T10:00:00Z", "2026-11-26T10:00:00.123+02:00", "-1m", "9999999d", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSince(s, now)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q: not UTC", s)
		}
		if !strings.ContainsAny(s, "T:") && !got.Before(now) {
			t.Fatalf("duration %q gave %v, not before now", s, got)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	l := Line{Seq: 3, Time: time.UnixMicro(1700000000123456).UTC(), Source: "app", Proc: "web.1", Release: 2, Text: "hello"}
	f.Add(appendRecord(nil, &l))
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, n, err := decodeRecord(data, string(data))
		if err != nil {
			return
		}
		if n > len(data) {
			t.Fatalf("length %d beyond %d bytes", n, len(data))
		}
		again := appendRecord(nil, &l)
		l2, n2, err := decodeRecord(again, string(again))
		if err != nil || n2 != len(again) || l2 != l {
			t.Fatalf("record does not round-trip: %+v, %+v, %v", l, l2, err)
		}
	})
}
