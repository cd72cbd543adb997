package buildpacks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"paas"
)

func TestParseBuildpacksFile(t *testing.T) {
	vetted := t.TempDir()
	local := filepath.Join(vetted, "local")
	if err := os.Mkdir(local, 0o755); err != nil {
		t.Fatal(err)
	}
	data := "# first the toolchain\nhttps://example.com/bp.git#v2\n\n  git@example.com:org/bp.git  \r\n" + local + "\ngo\n"
	got, err := ParseBuildpacksFile([]byte(data), []string{vetted})
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{
		{Given: "https://example.com/bp.git#v2", Kind: GitRef, URL: "https://example.com/bp.git", Scheme: "https", Rev: "v2"},
		{Given: "git@example.com:org/bp.git", Kind: GitRef, URL: "git@example.com:org/bp.git", Scheme: "ssh"},
		{Given: local, Kind: PathRef, Dir: resolved(t, local)},
		{Given: "go", Kind: BuiltinRef, Name: "go"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseBuildpacksFileErrors(t *testing.T) {
	for _, tc := range []struct{ data, msg string }{
		{"https://a/b.git\nhttps://x y\n", `.buildpacks line 2: buildpack "https://x y" is not allowed: ` + RefForms},
		{"--upload-pack=evil\n", `.buildpacks line 1: buildpack "--upload-pack=evil" is not allowed: ` + RefForms},
		{"a\x01b\n", `.buildpacks line 1: buildpack "a\x01b" is not allowed: ` + RefForms},
		{"go\n/etc\n", `.buildpacks line 2: buildpack "/etc" is not allowed: ` + RefForms},
		{"file:///srv/bp.git\n", `.buildpacks line 1: buildpack "file:///srv/bp.git" is not allowed: ` + RefForms},
	} {
		_, err := ParseBuildpacksFile([]byte(tc.data), nil)
		var pe *paas.Error
		if !errors.As(err, &pe) || pe.Msg != tc.msg {
			t.Errorf("%q: got %v, want a *paas.Error %q", tc.data, err, tc.msg)
		}
	}
}

func FuzzParseBuildpacksFile(f *testing.F) {
	f.Add([]byte("https://example.com/bp.git#main\n# c\n\n/srv/bp\n"))
	f.Add([]byte("-x\n"))
	f.Add([]byte("a b"))
	f.Add([]byte("git@host:path#v1\nssh://h/p\n"))
	f.Add([]byte("ext::sh -c x\nfile:///etc\n/etc\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseBuildpacksFile(data, nil)
		if err != nil {
			var pe *paas.Error
			if !errors.As(err, &pe) || !strings.HasPrefix(pe.Msg, ".buildpacks line ") || !strings.HasSuffix(pe.Msg, RefForms) ||
				strings.Count(pe.Msg, "\n") != 0 {
				t.Fatalf("error %v is not the one-line .buildpacks refusal", err)
			}
			return
		}
		for _, bp := range list {
			g := bp.Given
			if g == "" || strings.HasPrefix(g, "-") || strings.HasPrefix(g, "#") ||
				strings.IndexFunc(g, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
				t.Fatalf("accepted bad entry %q", g)
			}
			switch bp.Kind {
			case BuiltinRef:
			case GitRef:
				if bp.Scheme != "https" && bp.Scheme != "http" && bp.Scheme != "ssh" {
					t.Fatalf("accepted %q with transport %q", g, bp.Scheme)
				}
				if strings.Contains(bp.URL, "::") || strings.HasPrefix(bp.Rev, "-") {
					t.Fatalf("accepted %q", g)
				}
			default:
				t.Fatalf("accepted %q as %v without any allowed server path", g, bp.Kind)
			}
		}
	})
}
