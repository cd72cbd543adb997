package stack

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// HostMirror returns the Debian mirror the host's apt configuration in
// aptDir (normally /etc/apt) uses for Suite: the first "deb" entry naming
// the suite in sources.list.d/*.sources (deb822), then sources.list, then
// sources.list.d/*.list (one-line form). It returns DefaultMirror when none
// names the suite.
func HostMirror(aptDir string) string {
	if u := hostURI(aptDir, Suite); u != "" {
		return u
	}
	return DefaultMirror
}

// DefaultSecurityMirror is the Debian security archive when the host's apt
// configuration names none.
const DefaultSecurityMirror = "http://deb.debian.org/debian-security"

// HostSecurityMirror returns the archive the host's apt configuration in
// aptDir uses for Suite's security updates (suite "SUITE-security"), found
// as HostMirror finds the mirror, or DefaultSecurityMirror.
func HostSecurityMirror(aptDir string) string {
	if u := hostURI(aptDir, Suite+"-security"); u != "" {
		return u
	}
	return DefaultSecurityMirror
}

// hostURI returns the first usable URI the apt configuration in aptDir
// lists for suite, or "".
func hostURI(aptDir, suite string) string {
	var files []string
	deb822, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*.sources"))
	oneLine, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*.list"))
	files = append(files, deb822...)
	files = append(files, filepath.Join(aptDir, "sources.list"))
	files = append(files, oneLine...)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		var uris []string
		if strings.HasSuffix(name, ".sources") {
			uris = parseDeb822(f, suite)
		} else {
			uris = parseOneLine(f, suite)
		}
		f.Close()
		if len(uris) > 0 {
			return uris[0]
		}
	}
	return ""
}

// parseDeb822 returns the URIs of the enabled "deb" stanzas of a deb822
// sources file that list suite, in order.
func parseDeb822(r io.Reader, suite string) []string {
	var uris []string
	stanza := map[string]string{}
	last := ""
	flush := func() {
		if len(stanza) > 0 && strings.ToLower(stanza["enabled"]) != "no" &&
			slices.Contains(strings.Fields(stanza["types"]), "deb") &&
			slices.Contains(strings.Fields(stanza["suites"]), suite) {
			for _, u := range strings.Fields(stanza["uris"]) {
				if usableURI(u) {
					uris = append(uris, strings.TrimSuffix(u, "/"))
				}
			}
		}
		stanza = map[string]string{}
		last = ""
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				stanza[last] += " " + strings.TrimSpace(line)
			}
		default:
			key, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(key))
			stanza[last] = strings.TrimSpace(value)
		}
	}
	flush()
	return uris
}

// parseOneLine returns the URIs of the "deb" lines of a one-line-style
// sources.list whose suite is suite, in order.
func parseOneLine(r io.Reader, suite string) []string {
	var uris []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "deb" {
			continue
		}
		fields = fields[1:]
		if strings.HasPrefix(fields[0], "[") {
			// Options: "[arch=amd64 signed-by=/k.gpg]", possibly spread
			// over several fields.
			for len(fields) > 0 && !strings.HasSuffix(fields[0], "]") {
				fields = fields[1:]
			}
			if len(fields) == 0 {
				continue
			}
			fields = fields[1:]
		}
		if len(fields) >= 2 && fields[1] == suite && usableURI(fields[0]) {
			uris = append(uris, strings.TrimSuffix(fields[0], "/"))
		}
	}
	return uris
}

// usableURI reports whether debootstrap can fetch from u.
func usableURI(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "file:/")
}
