package buildpacks

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"paas"
)

// RefForms names every form a buildpack may take. A refused buildpack gets
// it as its whole explanation, the same whatever was wrong with it, so a
// refusal tells nothing about the server.
const RefForms = "use a built-in buildpack (go, node, python, static, procfile), " +
	"a git URL https://HOST/PATH, http://HOST/PATH, ssh://HOST/PATH or USER@HOST:PATH " +
	"with an optional #BRANCH, #TAG or #COMMIT, or a directory the server's PAAS_BUILDPACK_PATHS lists"

// RefKind is what a buildpack reference names.
type RefKind int

// The kinds of buildpack reference.
const (
	BuiltinRef RefKind = iota + 1 // a built-in buildpack, by name
	GitRef                        // a git repository fetched over https, http or ssh
	PathRef                       // a directory on the server that the operator listed
)

// Ref is a parsed buildpack reference.
type Ref struct {
	Given string // the reference as written, which the build records
	Kind  RefKind
	// Name is the built-in buildpack's name (Builtin).
	Name string
	// URL is the repository without its #ref, as git reads it (Git); an
	// scp-like USER@HOST:PATH is kept as written. Scheme is "https",
	// "http" or "ssh".
	URL, Scheme string
	// Rev is the branch, tag or full commit after '#', "" for the
	// repository's default branch (Git).
	Rev string
	// Dir is the directory with symbolic links resolved (Path).
	Dir string
}

// maxRefLen bounds a buildpack reference.
const maxRefLen = 2048

var (
	// scpLike is git's scp-like ssh syntax, restricted to a plain host
	// name and a path that cannot be read as another transport (ext::).
	scpLike = regexp.MustCompile(`^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?:[^:\-][^:]*$`)
	// revChars is what a branch, tag or commit after '#' may hold.
	revChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/+-]*$`)
	// hostChars is what the host of a git URL may hold (a name, an IPv4
	// address or a bracketed IPv6 one, with an optional port).
	hostChars = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)
)

// refused is the one error every refused buildpack gets.
func refused(s string) error {
	return paas.Errorf("buildpack %q is not allowed: %s", s, RefForms)
}

// ParseRef reads one buildpack reference: a built-in name, a git URL of
// the https, http or ssh transport (or scp-like USER@HOST:PATH, which is
// ssh) with an optional #BRANCH, #TAG or #COMMIT, or an absolute path on
// the server. A path is allowed only when it is, or is inside, one of
// paths once both are cleaned and their symbolic links resolved; it takes
// no #ref. Anything else (file://, git://, ext::, relative paths, a
// leading '-', spaces or control characters, a path outside paths or one
// that does not exist) is a *paas.Error with the same message naming the
// allowed forms.
func ParseRef(s string, paths []string) (Ref, error) {
	if s == "" || len(s) > maxRefLen || strings.HasPrefix(s, "-") ||
		strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 {
		return Ref{}, refused(s)
	}
	if slices.Contains(builtinOrder, s) {
		return Ref{Given: s, Kind: BuiltinRef, Name: s}, nil
	}
	if strings.HasPrefix(s, "/") {
		dir, ok := allowedDir(s, paths)
		if !ok {
			return Ref{}, refused(s)
		}
		return Ref{Given: s, Kind: PathRef, Dir: dir}, nil
	}
	repo, rev, hasRev := strings.Cut(s, "#")
	if hasRev && !validRev(rev) {
		return Ref{}, refused(s)
	}
	ref := Ref{Given: s, Kind: GitRef, URL: repo, Rev: rev}
	if !strings.Contains(repo, "://") && scpLike.MatchString(repo) {
		ref.Scheme = "ssh"
		return ref, nil
	}
	u, err := url.Parse(repo)
	if err != nil || u.Opaque != "" || !strings.HasPrefix(repo, u.Scheme+"://") || !hostChars.MatchString(u.Host) ||
		u.Path == "" || u.Path == "/" || strings.HasPrefix(u.Path, "/-") {
		return Ref{}, refused(s)
	}
	switch u.Scheme {
	case "https", "http":
	case "ssh":
		if _, hasPassword := u.User.Password(); hasPassword {
			return Ref{}, refused(s)
		}
	default:
		return Ref{}, refused(s)
	}
	ref.Scheme = u.Scheme
	return ref, nil
}

// ValidateBuildpackRef returns a *paas.Error when s cannot name a
// buildpack whatever the server allows: it checks the form only, and
// takes any absolute path (ParseRef decides whether the server allows it).
func ValidateBuildpackRef(s string) error {
	if strings.HasPrefix(s, "/") {
		if strings.Contains(s, "#") || strings.HasPrefix(s, "-") ||
			strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 ||
			len(s) > maxRefLen {
			return refused(s)
		}
		return nil
	}
	_, err := ParseRef(s, nil)
	return err
}

// validRev reports whether rev may name a branch, tag or commit.
func validRev(rev string) bool {
	return len(rev) <= 255 && revChars.MatchString(rev) &&
		!strings.Contains(rev, "..") && !strings.Contains(rev, "//") &&
		!strings.HasSuffix(rev, "/") && !strings.HasSuffix(rev, ".lock")
}

// allowedDir resolves p and reports whether it is an existing directory
// that is, or is inside, one of paths.
func allowedDir(p string, paths []string) (string, bool) {
	if len(paths) == 0 || strings.Contains(p, "#") {
		return "", false
	}
	resolved, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		return "", false
	}
	fi, err := os.Stat(resolved)
	if err != nil || !fi.IsDir() {
		return "", false
	}
	for _, root := range paths {
		if !filepath.IsAbs(root) {
			continue
		}
		r, err := filepath.EvalSymlinks(filepath.Clean(root))
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(r, resolved)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return resolved, true
		}
	}
	return "", false
}
