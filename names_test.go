package paas

import (
	"strings"
	"testing"
)

func TestValidateAppName(t *testing.T) {
	for _, ok := range []string{"a", "hello", "hello-world", "a1", strings.Repeat("a", 30)} {
		if err := ValidateAppName(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "../x", "-rf", "a;id", "Hello", "1abc", strings.Repeat("a", 31), "a b", "a/b", "a\n", "é"} {
		if err := ValidateAppName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseAssignment(t *testing.T) {
	for _, c := range []struct{ in, k, v string }{
		{"A=1", "A", "1"},
		{"_x=", "_x", ""},
		{"URL=postgres://u:p@h/db?a=b", "URL", "postgres://u:p@h/db?a=b"},
		{"CMD=$(id)", "CMD", "$(id)"},
		{"ML=line1\nline2", "ML", "line1\nline2"},
	} {
		k, v, err := ParseAssignment(c.in)
		if err != nil || k != c.k || v != c.v {
			t.Errorf("ParseAssignment(%q) = %q, %q, %v", c.in, k, v, err)
		}
	}
	for _, bad := range []string{"", "A", "=1", "1A=x", "A-B=x", "A B=x", "$(id)=x"} {
		if _, _, err := ParseAssignment(bad); err == nil {
			t.Errorf("ParseAssignment(%q) accepted", bad)
		}
	}
}

func FuzzValidateAppName(f *testing.F) {
	for _, s := range []string{"hello", "../x", "-rf", "a;id", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateAppName(s) != nil {
			return
		}
		if len(s) == 0 || len(s) > 30 || s[0] < 'a' || s[0] > 'z' {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Fatalf("accepted %q with %q", s, r)
			}
		}
	})
}

func FuzzParseAssignment(f *testing.F) {
	for _, s := range []string{"A=1", "A", "=x", "K=$(id)\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, v, err := ParseAssignment(s)
		if err != nil {
			return
		}
		if k+"="+v != s {
			t.Fatalf("%q split into %q and %q", s, k, v)
		}
		if ValidateConfigKey(k) != nil {
			t.Fatalf("invalid key %q accepted", k)
		}
	})
}

func TestUserNames(t *testing.T) {
	for _, n := range []string{"alice", "a", "bob-2", "x23456789012345678901234567890"} {
		if err := ValidateUserName(n); err != nil {
			t.Errorf("ValidateUserName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", "Alice", "2bob", "al ice", "-a", "a@b", "x234567890123456789012345678901"} {
		if err := ValidateUserName(n); err == nil {
			t.Errorf("ValidateUserName(%q) accepted", n)
		}
	}
	for in, want := range map[string]string{
		"alice":                                 "alice",
		"Alice@Laptop":                          "alice-laptop",
		"  bob  ":                               "bob",
		"2fast":                                 "u2fast",
		"":                                      "admin",
		"@@@":                                   "admin",
		"ci deploy key (2024)":                  "ci-deploy-key-2024",
		"abcdefghijklmnopqrstuvwxyz-0123456789": "abcdefghijklmnopqrstuvwxyz-012",
		"abcdefghijklmnopqrstuvwxyzabc@d":       "abcdefghijklmnopqrstuvwxyzabc",
	} {
		got := UserNameFrom(in)
		if got != want {
			t.Errorf("UserNameFrom(%q) = %q, want %q", in, got, want)
		}
		if err := ValidateUserName(got); err != nil {
			t.Errorf("UserNameFrom(%q) = %q, not valid: %v", in, got, err)
		}
	}
}

func TestReservedAppNames(t *testing.T) {
	for _, n := range []string{"dashboard", "paas-dashboard"} {
		if err := ValidateNewAppName(n); err == nil {
			t.Errorf("%s: a new app may take it", n)
		}
		if err := ValidateAppName(n); err != nil {
			t.Errorf("%s: an existing app of this name is refused: %v", n, err)
		}
	}
	if err := ValidateNewAppName("dashboards"); err != nil {
		t.Error(err)
	}
}
