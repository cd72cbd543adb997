// Package logs aggregates the log lines of every app into one ordered
// stream per app: instance output, router request lines and platform
// events. It keeps a bounded history per app and serves live followers
// without ever letting a slow reader hold up a writer.
package logs

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Sources of a line.
const (
	SourceApp  = "app"  // written by an instance of the app
	SourcePaas = "paas" // written by the platform (router, deploy, api)
)

// MaxTextBytes bounds the text of one line; longer text is split into
// several lines at rune boundaries, nothing is dropped.
const MaxTextBytes = 10000

// timeLayout is RFC 3339 in UTC with exactly six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Line is one log line of one app.
type Line struct {
	Seq    uint64    // per-app sequence number, strictly increasing from 1; 0 for synthetic lines
	Time   time.Time // receive time, UTC
	App    string
	Source string // "app" or "paas"
	Proc   string // "web.1", "run.4711", "deploy", "router", "api", "logs"
	// Release is the release of the instance that wrote the line; 0 when
	// unknown and for most platform lines.
	Release int
	Text    string // the message, never containing a newline

	// gapFrom and gapTo are set on a drop marker: the sequence numbers of
	// the first and last line it stands for.
	gapFrom, gapTo uint64
}

// String formats the line the way `paas logs` prints it:
// "2026-11-26T10:00:00.123456Z app[web.1]: text".
func (l Line) String() string {
	var b strings.Builder
	b.Grow(len(timeLayout) + len(l.Source) + len(l.Proc) + len(l.Text) + 5)
	b.WriteString(l.Time.UTC().Format(timeLayout))
	b.WriteByte(' ')
	b.WriteString(l.Source)
	b.WriteByte('[')
	b.WriteString(l.Proc)
	b.WriteString("]: ")
	b.WriteString(l.Text)
	return b.String()
}

// splitLines splits text into sanitized lines of at most MaxTextBytes
// bytes. One trailing newline ends the last line rather than starting an
// empty one; empty text is one empty line.
func splitLines(text string) []string {
	text = strings.TrimSuffix(text, "\n")
	if !strings.Contains(text, "\n") && clean(text) {
		return []string{text}
	}
	var out []string
	for p := range strings.SplitSeq(text, "\n") {
		out = appendPieces(out, sanitize(p))
	}
	return out
}

// appendPieces appends s cut into pieces of at most MaxTextBytes bytes,
// each ending at a rune boundary.
func appendPieces(out []string, s string) []string {
	for len(s) > MaxTextBytes {
		cut := MaxTextBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

// sanitize makes s safe to print on one terminal line: a carriage return
// is removed, other control characters (C0, DEL, C1) except tab are
// escaped as \xNN or \u00NN, and invalid UTF-8 becomes U+FFFD.
func sanitize(s string) string {
	if clean(s) {
		return s
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch {
		case r == '\r':
		case r == '\t':
			b.WriteByte('\t')
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		case r >= 0x80 && r <= 0x9f:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			// utf8.RuneError stands both for itself and for an invalid
			// byte; WriteRune writes U+FFFD for either.
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clean reports whether s needs no change: short enough, valid UTF-8,
// no control characters other than tab.
func clean(s string) bool {
	if len(s) > MaxTextBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return utf8.ValidString(s[i:]) && !hasC1(s[i:])
		}
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// hasC1 reports whether s has a C1 control character or an ASCII control
// character other than tab.
func hasC1(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return true
		}
	}
	return false
}
