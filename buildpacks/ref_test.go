package buildpacks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paas"
)

// resolved is p with its symbolic links resolved.
func resolved(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseRefGit(t *testing.T) {
	sha := strings.Repeat("0123456789", 4)
	for _, tc := range []struct {
		in, url, scheme, rev string
	}{
		{"https://github.com/heroku/heroku-buildpack-go", "https://github.com/heroku/heroku-buildpack-go", "https", ""},
		{"https://github.com/heroku/heroku-buildpack-go.git#v200", "https://github.com/heroku/heroku-buildpack-go.git", "https", "v200"},
		{"https://user:token@git.example.com:8443/org/bp.git#release/1.2", "https://user:token@git.example.com:8443/org/bp.git", "https", "release/1.2"},
		{"http://10.1.2.3/bp.git#" + sha, "http://10.1.2.3/bp.git", "http", sha},
		{"http://[2001:db8::1]:8080/bp", "http://[2001:db8::1]:8080/bp", "http", ""},
		{"ssh://git@example.com/org/bp.git#main", "ssh://git@example.com/org/bp.git", "ssh", "main"},
		{"ssh://example.com:2222/bp", "ssh://example.com:2222/bp", "ssh", ""},
		{"git@example.com:org/bp.git#v1", "git@example.com:org/bp.git", "ssh", "v1"},
		{"example.com:bp", "example.com:bp", "ssh", ""},
		{"https:example.com/bp", "https:example.com/bp", "ssh", ""}, // scp-like, host "https", as git reads it
	} {
		ref, err := ParseRef(tc.in, nil)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		want := Ref{Given: tc.in, Kind: GitRef, URL: tc.url, Scheme: tc.scheme, Rev: tc.rev}
		if ref != want {
			t.Errorf("%q: got %+v, want %+v", tc.in, ref, want)
		}
		if err := ValidateBuildpackRef(tc.in); err != nil {
			t.Errorf("ValidateBuildpackRef(%q): %v", tc.in, err)
		}
	}
	for _, name := range Builtin() {
		if ref, err := ParseRef(name, nil); err != nil || ref != (Ref{Given: name, Kind: BuiltinRef, Name: name}) {
			t.Errorf("%q: got %+v, %v", name, ref, err)
		}
	}
}

// TestParseRefRefused: everything but the allowed forms gets the same one
// line, whether or not a named server path exists.
func TestParseRefRefused(t *testing.T) {
	vetted := t.TempDir()
	for _, s := range []string{
		"", "-", "--upload-pack=touch /tmp/x", "-https://example.com/bp",
		"/etc", "/etc/", "/etc/passwd", "/nonexistent/buildpack", "/", "/var/lib/paas/repos", "/etc#main",
		"relative/dir", "./bp", "../bp", "bp", "Go", "GO",
		"file:///etc", "file:///srv/bp.git#main", "file://localhost/etc", "FILE:///etc",
		"git://example.com/bp.git", "ext::sh -c touch% /tmp/pwned", "ext::false", "fd::0", "transport::path",
		"ftp://example.com/bp", "ftps://example.com/bp", "HTTPS://example.com/bp", "rsync://example.com/bp",
		"https://", "https:///bp", "https://example.com", "https://example.com/",
		"https://-oProxyCommand=x/bp", "https://example.com/-bp", "ssh://-oProxyCommand=touch%20x/bp",
		"ssh://user:pass@example.com/bp", "ssh://example.com/bp#-f", "https://example.com/bp#",
		"https://example.com/bp#../../x", "https://example.com/bp#a..b", "https://example.com/bp#x.lock",
		"https://example.com/bp#-v", "https://example.com/bp#a b", "https://example.com/bp#a#b",
		"https://exa mple.com/bp", "https://example.com/b\x00p", "https://example.com/bp\n",
		"https://exämple.com/bp", "git@-oProxyCommand=x:bp", "git@host:-bp", "host::bp", "git@host:",
		"git@host:/abs:colon", "host", "c:", strings.Repeat("a", maxRefLen+1),
	} {
		_, err := ParseRef(s, []string{vetted})
		var pe *paas.Error
		want := `buildpack "` + strings.ReplaceAll(strings.ReplaceAll(s, "\n", `\n`), "\x00", `\x00`) + `" is not allowed: ` + RefForms
		if !errors.As(err, &pe) {
			t.Errorf("%q accepted (%v)", s, err)
			continue
		}
		if s != strings.Repeat("a", maxRefLen+1) && !strings.Contains(s, "ä") && pe.Msg != want {
			t.Errorf("%q: message %q, want %q", s, pe.Msg, want)
		}
		if rest := strings.Replace(pe.Msg, s, "", 1); strings.Contains(rest, "\n") || strings.Contains(rest, "exist") || strings.Contains(rest, "directory on") {
			t.Errorf("%q: message %q is not one line naming the forms only", s, pe.Msg)
		}
	}
}

// TestParseRefPaths: a server path is allowed only inside a listed
// directory, after symbolic links are resolved; a link out of it, a
// sibling sharing its prefix, a file and a missing path are refused alike.
func TestParseRefPaths(t *testing.T) {
	base := t.TempDir()
	vetted := filepath.Join(base, "vetted")
	for _, d := range []string{"vetted/go-extra", "vetted-not/bp", "outside"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(vetted, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "outside"), filepath.Join(vetted, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(vetted, filepath.Join(base, "link-to-vetted")); err != nil {
		t.Fatal(err)
	}
	paths := []string{vetted + "/"}
	for _, ok := range []string{vetted, vetted + "/go-extra", vetted + "/go-extra/../go-extra/", base + "/link-to-vetted/go-extra"} {
		ref, err := ParseRef(ok, paths)
		if err != nil {
			t.Errorf("%q refused: %v", ok, err)
			continue
		}
		if ref.Kind != PathRef || ref.Given != ok || !strings.HasPrefix(ref.Dir, resolved(t, vetted)) {
			t.Errorf("%q: %+v", ok, ref)
		}
	}
	// The listed directory may itself be reached through a link.
	if _, err := ParseRef(vetted+"/go-extra", []string{base + "/link-to-vetted"}); err != nil {
		t.Errorf("listed through a link: %v", err)
	}
	var msgs []string
	for _, bad := range []string{
		vetted + "/escape", vetted + "/go-extra/../../outside", base + "/vetted-not/bp", base + "/outside",
		vetted + "/file", vetted + "/missing", vetted + "#main", "/etc",
	} {
		_, err := ParseRef(bad, paths)
		var pe *paas.Error
		if !errors.As(err, &pe) {
			t.Errorf("%q accepted", bad)
			continue
		}
		msgs = append(msgs, strings.Replace(pe.Msg, bad, "P", 1))
	}
	for _, m := range msgs {
		if m != msgs[0] {
			t.Errorf("refusals differ: %q and %q", m, msgs[0])
		}
	}
	// Without any listed directory, no path is allowed.
	if _, err := ParseRef(vetted, nil); err == nil {
		t.Error("a path was allowed with no PAAS_BUILDPACK_PATHS")
	}
}
