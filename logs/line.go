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

// MaxTextBytes bounds the text of one line; longer text is cut at a rune
// boundary and marked with a trailing "…".
const MaxTextBytes = 32 << 10

// timeLayout is RFC 3339 in UTC with exactly six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Line is one log line of one app.
type Line struct {
	Seq    uint64    // per-app sequence number, strictly increasing from 1; 0 for synthetic lines
	Time   time.Time // receive time, UTC
	App    string
	Source string // "app" or "paas"
	Proc   string // "web.1", "run.4711", "deploy", "router", "api", "logs"
	Text   string // the message, never containing a newline
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

// splitLines splits text into sanitized lines. One trailing newline ends
// the last line rather than starting an empty one; empty text is one empty
// line.
func splitLines(text string) []string {
	text = strings.TrimSuffix(text, "\n")
	parts := strings.Split(text, "\n")
	for i, p := range parts {
		parts[i] = sanitize(p)
	}
	return parts
}

// sanitize makes s safe to print on one terminal line: carriage returns
// are removed, other control characters (C0, DEL, C1) except tab become
// '?', invalid UTF-8 becomes U+FFFD, and the result is cut to
// MaxTextBytes.
func sanitize(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), MaxTextBytes+len("…")))
	for _, r := range s {
		switch {
		case r == '\r':
			continue
		case r == '\t':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			r = '?'
		}
		// utf8.RuneError stands both for itself and for an invalid byte;
		// WriteRune writes U+FFFD for either.
		if b.Len()+utf8.RuneLen(r) > MaxTextBytes {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// clean reports whether s needs no change: short enough, valid UTF-8,
// no control characters other than tab.
func clean(s string) bool {
	if len(s) > MaxTextBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\t' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return false
		}
	}
	return true
}
