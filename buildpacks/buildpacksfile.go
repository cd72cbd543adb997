package buildpacks

import (
	"bytes"
	"strings"
	"unicode"

	"paas"
)

// ParseBuildpacksFile parses a .buildpacks file: one buildpack per line, a
// git URL (with an optional #ref), a directory path on the server or the
// name of a built-in buildpack. Blank lines and lines starting with '#' are
// ignored. A malformed line is a *paas.Error naming the line.
func ParseBuildpacksFile(data []byte) ([]string, error) {
	var list []string
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := ValidateBuildpackRef(line); err != nil {
			return nil, paas.Errorf(".buildpacks line %d: %s", i+1, err.Error())
		}
		list = append(list, line)
	}
	return list, nil
}

// ValidateBuildpackRef returns a *paas.Error when s cannot name a
// buildpack: it is empty, starts with '-' or contains white space or
// control characters.
func ValidateBuildpackRef(s string) error {
	switch {
	case s == "":
		return paas.Errorf("empty buildpack")
	case strings.HasPrefix(s, "-"):
		return paas.Errorf("invalid buildpack %q: must not start with '-'", s)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return paas.Errorf("invalid buildpack %q: must not contain spaces or control characters", s)
	}
	return nil
}
