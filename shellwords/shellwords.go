// Package shellwords splits a command line into words the way a POSIX shell
// does, without expanding anything, and quotes words so that the split gives
// them back unchanged.
package shellwords

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors returned by Split.
var (
	ErrUnterminatedSingle = errors.New("unterminated single quote")
	ErrUnterminatedDouble = errors.New("unterminated double quote")
	ErrTrailingBackslash  = errors.New("backslash at end of input")
)

// Split splits s into words following the POSIX shell quoting rules:
// whitespace (space, tab, newline) separates words; a backslash outside
// quotes takes the next character literally (backslash-newline is removed);
// single quotes take everything up to the next single quote literally;
// inside double quotes a backslash escapes only $, `, ", \ and newline.
//
// Nothing is ever expanded: $x, $(...), `...`, globs, ~ and # stay literal,
// and operators such as ; | & < > are ordinary characters. A pair of
// quotes with nothing between them is an empty word. An unterminated quote
// or a trailing backslash is an error.
func Split(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\\':
			if i+1 >= len(s) {
				return nil, ErrTrailingBackslash
			}
			i++
			if s[i] == '\n' {
				// Line continuation: neither character is kept.
				continue
			}
			cur.WriteByte(s[i])
			inWord = true
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, ErrUnterminatedSingle
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case '"':
			j, err := readDouble(s, i+1, &cur)
			if err != nil {
				return nil, err
			}
			i = j
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// readDouble copies the body of a double-quoted string starting at s[i]
// into b and returns the index of the closing quote.
func readDouble(s string, i int, b *strings.Builder) (int, error) {
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return i, nil
		case '\\':
			if i+1 >= len(s) {
				return 0, ErrUnterminatedDouble
			}
			switch n := s[i+1]; n {
			case '$', '`', '"', '\\':
				b.WriteByte(n)
				i++
			case '\n':
				i++
			default:
				b.WriteByte('\\')
			}
		default:
			b.WriteByte(c)
		}
	}
	return 0, ErrUnterminatedDouble
}

// Quote returns s in a form that Split, sh and bash read back as exactly one
// word equal to s. A word made only of letters, digits and _ @ % + : , . / -
// is returned as is; anything else, including the empty string, is put in
// single quotes, with each single quote written as: quote, backslash,
// quote, quote.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes every word with Quote and joins them with single spaces.
func Join(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_@%+:,./-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Display returns s quoted for showing to a person, on one line: like
// Quote, except that a word with control characters, or bytes that are
// not UTF-8, is written in bash's $'...' form with each such byte
// escaped, so that a listing never sends a terminal an escape sequence
// and bash still reads the word back as s.
func Display(s string) string {
	if !needsEscapes(s) {
		return Quote(s)
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == 0x1b:
			b.WriteString(`\E`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			// C1 controls: bash's \u form keeps them one character.
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}

// needsEscapes reports whether s has a control character (C0, DEL, C1)
// or is not valid UTF-8.
func needsEscapes(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if IsControl(r) {
			return true
		}
	}
	return false
}

// IsControl reports whether r is a control character: C0, DEL or C1.
func IsControl(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0
}
