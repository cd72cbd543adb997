package shellwords

import (
	"bytes"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   \t\n ", nil},
		{"a b  c", []string{"a", "b", "c"}},
		{"  lead trail  ", []string{"lead", "trail"}},
		{"git-receive-pack 'my-app'", []string{"git-receive-pack", "my-app"}},
		{`'a b' "c d"`, []string{"a b", "c d"}},
		{`''`, []string{""}},
		{`"" x`, []string{"", "x"}},
		{`a''b`, []string{"ab"}},
		{`'it'\''s'`, []string{"it's"}},
		{`a\ b`, []string{"a b"}},
		{`\'`, []string{"'"}},
		{`\\`, []string{`\`}},
		{"a\\\nb", []string{"ab"}},
		{`"\$x \` + "`" + ` \" \\ \n \a"`, []string{"$x ` \" \\ \\n \\a"}},
		{"\"a\\\nb\"", []string{"ab"}},
		{`'\n'`, []string{`\n`}},
		{`$HOME $(id) ~ *.go #c ;|&<>`, []string{"$HOME", "$(id)", "~", "*.go", "#c", ";|&<>"}},
		{`K="a b"c'd'`, []string{"K=a bcd"}},
		{"x\ty\nz", []string{"x", "y", "z"}},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if err != nil {
			t.Errorf("Split(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{`'abc`, ErrUnterminatedSingle},
		{`a "b`, ErrUnterminatedDouble},
		{`"b\"`, ErrUnterminatedDouble},
		{`"\`, ErrUnterminatedDouble},
		{`abc\`, ErrTrailingBackslash},
	}
	for _, tt := range tests {
		_, err := Split(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("Split(%q) error = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := map[string]string{
		"":          "''",
		"abc":       "abc",
		"a-b_c.d/e": "a-b_c.d/e",
		"a b":       "'a b'",
		"it's":      `'it'\''s'`,
		"$x":        "'$x'",
		"K=V":       "'K=V'",
		"~":         "'~'",
		"#":         "'#'",
	}
	for in, want := range tests {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

var roundTrip = [][]string{
	{"run", "app", "--", "python3", "-c", "print(1)"},
	{""},
	{"", "", "x"},
	{"it's", `"quoted"`, `back\slash`, "new\nline", "tab\there"},
	{"$(id)", "`id`", "$HOME", "~", "*", "?", "[a]", "{a,b}", "!x", "#c", "a;b", "a|b", "a&b", "<>", "K=V"},
	{"ünïcödé", "\x01\x7f\xff"},
}

func TestJoinRoundTrip(t *testing.T) {
	for _, args := range roundTrip {
		got, err := Split(Join(args))
		if err != nil {
			t.Fatalf("Split(Join(%q)): %v", args, err)
		}
		if !slices.Equal(got, args) {
			t.Errorf("Split(Join(%q)) = %q", args, got)
		}
	}
}

// TestJoinBash checks that bash reads Join's output as the same words.
func TestJoinBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	for _, args := range roundTrip {
		script := `printf '%s\0' ` + Join(args)
		out, err := exec.Command(bash, "-c", script).Output()
		if err != nil {
			t.Fatalf("bash -c %q: %v", script, err)
		}
		got := strings.Split(string(bytes.TrimSuffix(out, []byte{0})), "\x00")
		if !slices.Equal(got, args) {
			t.Errorf("bash read %q as %q", args, got)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "a b", `'a' "b\"" c\ d`, `"unterminated`, `x\`, "a\\\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Split(s)
		if err != nil {
			return
		}
		again, err := Split(Join(words))
		if err != nil {
			t.Fatalf("Split(Join(%q)): %v", words, err)
		}
		if !slices.Equal(again, words) && !(len(again) == 0 && len(words) == 0) {
			t.Fatalf("Split(Join(%q)) = %q", words, again)
		}
	})
}

// FuzzJoinRoundTrip checks Split(Join(args)) == args for any words; the
// fuzzer's string is cut into words at NUL bytes.
func FuzzJoinRoundTrip(f *testing.F) {
	f.Add("run\x00app\x00--\x00python3\x00-c\x00print(1)")
	f.Add("\x00\x00'\x00\"")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		got, err := Split(Join(args))
		if err != nil {
			t.Fatalf("Split(Join(%q)): %v", args, err)
		}
		if !slices.Equal(got, args) {
			t.Fatalf("Split(Join(%q)) = %q", args, got)
		}
	})
}

// TestDisplay checks that Display's output holds no control character
// and no invalid UTF-8, stays as Quote's for ordinary words, and that
// bash reads it back as the same word.
func TestDisplay(t *testing.T) {
	words := []string{
		"plain", "with space", "it's", "", "\x1b[2J\x1b[H", "a\nb", "tab\there", "\r\x07bell",
		"del\x7f", "c1\u009bm", "bad\xff\xfeutf8", `back\slash'quote`, "ünïcödé ok", "\x01\x02\x1f",
	}
	for _, w := range words {
		d := Display(w)
		if !utf8.ValidString(d) {
			t.Errorf("Display(%q) = %q: not UTF-8", w, d)
		}
		for _, r := range d {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
				t.Errorf("Display(%q) = %q: holds control %U", w, d, r)
			}
		}
		if !needsEscapes(w) && d != Quote(w) {
			t.Errorf("Display(%q) = %q, want Quote's %q", w, d, Quote(w))
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	for _, w := range words {
		script := `printf '%s' ` + Display(w)
		out, err := exec.Command(bash, "-c", script).Output()
		if err != nil {
			t.Fatalf("bash -c %q: %v", script, err)
		}
		if string(out) != w {
			t.Errorf("bash read Display(%q) = %s as %q", w, Display(w), out)
		}
	}
}
