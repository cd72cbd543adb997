package paas

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	t.Setenv("HOME_SECRET", "from-the-server")
	in := "\ufeff# a comment\n" +
		"\n" +
		"PLAIN=value\n" +
		"  SPACED = two words  \n" +
		"export EXPORTED=1\n" +
		"export\tTABBED=2\n" +
		"export=3\n" +
		"EMPTY=\n" +
		"COMMENTED=abc # a comment\n" +
		"HASH=a#b\n" +
		"SINGLE='literal $HOME_SECRET \\n'\n" +
		"DOUBLE=\"line1\\nline2\\t\\\"q\\\" \\\\ \\$HOME_SECRET \\x\"\n" +
		"EXPANDS=$HOME_SECRET ${HOME_SECRET}\n" +
		"MULTI=\"first\n" +
		"second\"  # trailing comment\n" +
		"SMULTI='a\r\n" +
		"b'\r\n" +
		"CRLF=windows\r\n" +
		"EQ=a=b=c\n" +
		"LAST=one\n" +
		"LAST=two"
	vars, err := ParseDotenv(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []EnvVar{
		{"PLAIN", "value", 3},
		{"SPACED", "two words", 4},
		{"EXPORTED", "1", 5},
		{"TABBED", "2", 6},
		{"export", "3", 7},
		{"EMPTY", "", 8},
		{"COMMENTED", "abc", 9},
		{"HASH", "a#b", 10},
		{"SINGLE", "literal $HOME_SECRET \\n", 11},
		{"DOUBLE", "line1\nline2\t\"q\" \\ $HOME_SECRET \\x", 12},
		{"EXPANDS", "$HOME_SECRET ${HOME_SECRET}", 13},
		{"MULTI", "first\nsecond", 14},
		{"SMULTI", "a\nb", 16},
		{"CRLF", "windows", 18},
		{"EQ", "a=b=c", 19},
		{"LAST", "one", 20},
		{"LAST", "two", 21},
	}
	if len(vars) != len(want) {
		t.Fatalf("got %d vars %+v, want %d", len(vars), vars, len(want))
	}
	for i := range want {
		if vars[i] != want[i] {
			t.Errorf("var %d = %+v, want %+v", i, vars[i], want[i])
		}
	}
}

func TestParseDotenvErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"A=1\nnot an assignment\n", ".env line 2: expected KEY=VALUE"},
		{"A=1\n1BAD=x\n", `.env line 2: invalid config key "1BAD"`},
		{"A=1\n\nB=\"open\nstill open\n", ".env line 3: the value's \" quote is never closed"},
		{"C='never", ".env line 1: the value's ' quote is never closed"},
		{"D=\"x\" y\n", `.env line 1: unexpected "y" after the closing quote`},
		{"E='x'#glued\n", `.env line 1: unexpected "#glued" after the closing quote`},
		{"export F\n", ".env line 1: expected KEY=VALUE"},
		{"=novalue\n", `.env line 1: invalid config key ""`},
		{"A B=1\n", `.env line 1: invalid config key "A B"`},
		{"A=\x00\n", ".env holds a NUL byte"},
		{strings.Repeat("#", MaxDotenv+1), ".env is larger than 256 KiB"},
	} {
		_, err := ParseDotenv(tc.in)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want a *Error", tc.in, err)
			continue
		}
		if !strings.HasPrefix(pe.Msg, tc.want) {
			t.Errorf("%q: got %q, want it to start with %q", tc.in, pe.Msg, tc.want)
		}
		if strings.Contains(pe.Msg, "\n") {
			t.Errorf("%q: the error %q is more than one line", tc.in, pe.Msg)
		}
	}
}

// FuzzParseDotenv checks that any input parses or fails with one line,
// that keys are valid, that line numbers stay within the input, and that
// simple values written back in double quotes read the same.
func FuzzParseDotenv(f *testing.F) {
	for _, s := range []string{
		"A=1", "export B='x'\n", "C=\"a\\nb\"\n", "# c\n\nD=x # y\n", "E=\"open", "F='a\nb'", "G=\"\\$X\"",
		"H=a\r\nI=b\r\n", "=", "export", "J= \"x\" # c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		vars, err := ParseDotenv(in)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || strings.ContainsAny(pe.Msg, "\n") {
				t.Fatalf("error %v is not one user-facing line", err)
			}
			return
		}
		lines := strings.Count(in, "\n") + 1
		for _, v := range vars {
			if ValidateConfigKey(v.Key) != nil {
				t.Fatalf("invalid key %q", v.Key)
			}
			if v.Line < 1 || v.Line > lines {
				t.Fatalf("line %d outside 1..%d", v.Line, lines)
			}
			// Written back quoted, the value reads the same.
			q := strings.NewReplacer("\\", "\\\\", "\"", "\\\"", "\n", "\\n", "\r", "\\r", "\t", "\\t").Replace(v.Value)
			back, err := ParseDotenv(v.Key + "=\"" + q + "\"\n")
			if err != nil || len(back) != 1 || back[0].Value != v.Value {
				t.Fatalf("%q written back as %q read %+v, %v", v.Value, q, back, err)
			}
		}
	})
}
