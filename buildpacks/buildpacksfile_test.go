package buildpacks

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"

	"paas"
)

func TestParseBuildpacksFile(t *testing.T) {
	data := "# first the toolchain\nhttps://example.com/bp.git#v2\n\n  file:///srv/bp.git  \r\n/srv/buildpacks/local\ngo\n"
	got, err := ParseBuildpacksFile([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://example.com/bp.git#v2", "file:///srv/bp.git", "/srv/buildpacks/local", "go"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestParseBuildpacksFileErrors(t *testing.T) {
	for _, tc := range []struct{ data, msg string }{
		{"https://a/b.git\nhttps://x y\n", ".buildpacks line 2: invalid buildpack"},
		{"--upload-pack=evil\n", ".buildpacks line 1: invalid buildpack"},
		{"a\x01b\n", ".buildpacks line 1: invalid buildpack"},
	} {
		_, err := ParseBuildpacksFile([]byte(tc.data))
		var pe *paas.Error
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Msg, tc.msg) {
			t.Errorf("%q: got %v, want a *paas.Error starting %q", tc.data, err, tc.msg)
		}
	}
}

func FuzzParseBuildpacksFile(f *testing.F) {
	f.Add([]byte("https://example.com/bp.git#main\n# c\n\n/srv/bp\n"))
	f.Add([]byte("-x\n"))
	f.Add([]byte("a b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseBuildpacksFile(data)
		if err != nil {
			var pe *paas.Error
			if !errors.As(err, &pe) || !strings.HasPrefix(pe.Msg, ".buildpacks line ") {
				t.Fatalf("error %v is not a user-facing .buildpacks error", err)
			}
			return
		}
		for _, bp := range list {
			if bp == "" || strings.HasPrefix(bp, "-") || strings.HasPrefix(bp, "#") ||
				strings.IndexFunc(bp, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
				t.Fatalf("accepted bad entry %q", bp)
			}
		}
	})
}
