package paas

import (
	"strings"
)

// MaxDotenv bounds a .env file config:set reads.
const MaxDotenv = 256 << 10

// EnvVar is one assignment of a .env file.
type EnvVar struct {
	Key, Value string
	Line       int // the line the assignment starts on, from 1
}

// ParseDotenv reads a .env file: one KEY=VALUE a line, with
//
//   - blank lines and lines starting with '#' ignored;
//   - an optional "export " before the key, and blanks around '=';
//   - an unquoted value ending at the line's end or at a '#' after a
//     blank, its outer blanks trimmed;
//   - a 'single-quoted' value taken literally, newlines included;
//   - a "double-quoted" value in which \n, \r, \t, \", \\ and \$ are
//     escapes (any other backslash is kept as written), newlines included.
//
// Nothing is ever expanded: "$HOME" and "${X}" are those characters.
// Every error is a *Error naming the line. A key given twice keeps its
// last value.
func ParseDotenv(data string) ([]EnvVar, error) {
	if len(data) > MaxDotenv {
		return nil, Errorf(".env is larger than %d KiB", MaxDotenv>>10)
	}
	if strings.IndexByte(data, 0) >= 0 {
		return nil, Errorf(".env holds a NUL byte: not a text file")
	}
	// A byte order mark, as some editors write, is not part of the first key.
	p := dotenvParser{rest: strings.TrimPrefix(data, "\ufeff"), line: 1}
	var vars []EnvVar
	for p.rest != "" {
		v, ok, err := p.next()
		if err != nil {
			return nil, err
		}
		if ok {
			vars = append(vars, v)
		}
	}
	return vars, nil
}

// dotenvParser is the state of ParseDotenv: what is left, and its line.
type dotenvParser struct {
	rest string
	line int
}

// takeLine returns the rest of the current line, without its end, and
// moves to the next one.
func (p *dotenvParser) takeLine() string {
	l, rest, found := strings.Cut(p.rest, "\n")
	p.rest = rest
	if found {
		p.line++
	}
	return strings.TrimSuffix(l, "\r")
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// next reads one line, or one assignment whose quoted value spans lines.
func (p *dotenvParser) next() (EnvVar, bool, error) {
	start := p.line
	fail := func(format string, a ...any) (EnvVar, bool, error) {
		return EnvVar{}, false, Errorf(".env line %d: "+format, append([]any{start}, a...)...)
	}
	// Up to the value: within the first line.
	first, _, _ := strings.Cut(p.rest, "\n")
	trimmed := strings.TrimLeft(first, " \t")
	if strings.TrimSpace(trimmed) == "" || trimmed[0] == '#' {
		p.takeLine()
		return EnvVar{}, false, nil
	}
	if after, ok := strings.CutPrefix(trimmed, "export"); ok && after != "" && isBlank(after[0]) {
		trimmed = strings.TrimLeft(after, " \t")
	}
	eq := strings.IndexByte(trimmed, '=')
	if eq < 0 {
		return fail("expected KEY=VALUE")
	}
	key := strings.TrimRight(trimmed[:eq], " \t")
	if err := ValidateConfigKey(key); err != nil {
		msg, _ := UserMessage(err)
		return fail("%s", msg)
	}
	// The value starts after '=' and its blanks; it may run past the
	// first line when quoted.
	consumed := len(first) - len(trimmed) + eq + 1
	p.rest = strings.TrimLeft(p.rest[consumed:], " \t")
	v := EnvVar{Key: key, Line: start}
	if p.rest == "" || (p.rest[0] != '\'' && p.rest[0] != '"') {
		l := p.takeLine()
		if i := commentStart(l); i >= 0 {
			l = l[:i]
		}
		v.Value = strings.TrimRight(l, " \t")
		return v, true, nil
	}
	quote := p.rest[0]
	var b strings.Builder
	i := 1
	for ; i < len(p.rest) && p.rest[i] != quote; i++ {
		c := p.rest[i]
		if c == '\\' && quote == '"' && i+1 < len(p.rest) {
			if e, ok := dotenvEscapes[p.rest[i+1]]; ok {
				b.WriteByte(e)
				i++
				continue
			}
		}
		if c == '\r' && i+1 < len(p.rest) && p.rest[i+1] == '\n' {
			continue // a CRLF line end inside quotes is a newline
		}
		if c == '\n' {
			p.line++
		}
		b.WriteByte(c)
	}
	if i >= len(p.rest) {
		return fail("the value's %c quote is never closed", quote)
	}
	p.rest = p.rest[i+1:]
	after := p.takeLine()
	if t := strings.TrimLeft(after, " \t"); t != "" && (t[0] != '#' || t == after) {
		return fail("unexpected %q after the closing quote", t)
	}
	v.Value = b.String()
	return v, true, nil
}

// dotenvEscapes are the escapes of a double-quoted value.
var dotenvEscapes = map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', '"': '"', '\\': '\\', '$': '$'}

// commentStart is where a '#' after a blank starts a comment in an
// unquoted value, or -1.
func commentStart(l string) int {
	for i := 1; i < len(l); i++ {
		if l[i] == '#' && isBlank(l[i-1]) {
			return i
		}
	}
	if strings.HasPrefix(l, "#") {
		return 0
	}
	return -1
}
