package buildpacks

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseRelease reads the default_process_types mapping from the YAML a
// buildpack's bin/release prints. It understands the subset buildpacks
// write: a top-level "default_process_types:" key followed by indented
// "type: command" lines, whose commands may be plain, single-quoted or
// double-quoted scalars, or the empty forms {}, ~ and null. Other top-level
// keys (addons, config_vars) are skipped.
func ParseRelease(data []byte) (map[string]string, error) {
	types := make(map[string]string)
	in := false
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			// A top-level line ends any mapping being read.
			in = false
			if trimmed == "---" || strings.HasPrefix(trimmed, "--- ") || trimmed == "..." {
				continue
			}
			key, rest, ok := strings.Cut(trimmed, ":")
			if !ok {
				return nil, fmt.Errorf("release line %d: expected a key", n)
			}
			if strings.TrimSpace(key) != "default_process_types" {
				continue
			}
			switch v := stripComment(strings.TrimSpace(rest)); v {
			case "", "{}", "~", "null":
				in = v == ""
			default:
				return nil, fmt.Errorf("release line %d: default_process_types must be a block mapping", n)
			}
			continue
		}
		if !in {
			continue
		}
		typ, value, ok := strings.Cut(trimmed, ":")
		if !ok {
			return nil, fmt.Errorf("release line %d: expected \"type: command\"", n)
		}
		typ = strings.TrimSpace(typ)
		if uq, err := unquote(typ); err == nil {
			typ = uq
		}
		cmd, err := unquote(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("release line %d: %w", n, err)
		}
		if typ == "" || cmd == "" || strings.ContainsRune(cmd, 0) {
			return nil, fmt.Errorf("release line %d: expected \"type: command\"", n)
		}
		types[typ] = cmd
	}
	return types, nil
}

// unquote returns the value of a YAML scalar: a quoted one unquoted, a plain
// one without its trailing comment.
func unquote(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		end := closingDoubleQuote(s)
		if end < 0 {
			return "", fmt.Errorf("unterminated double-quoted string")
		}
		v, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return "", fmt.Errorf("bad double-quoted string %s", s[:end+1])
		}
		return v, nil
	case strings.HasPrefix(s, "'"):
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '\'' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), nil
		}
		return "", fmt.Errorf("unterminated single-quoted string")
	default:
		return stripComment(s), nil
	}
}

// closingDoubleQuote returns the index of the quote that closes the
// double-quoted string starting s, or -1.
func closingDoubleQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// stripComment removes a trailing " #" comment from a plain scalar.
func stripComment(s string) string {
	if strings.HasPrefix(s, "#") {
		return ""
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "\t#"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
