package stack

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// summary shows a long, repetitive tool output (debootstrap prints a line
// per package per phase) in a few lines: the first line of each run of
// lines sharing a verb ("I: Retrieving ..."), then the run's last line
// with a count when it ends, and a "still working" line when nothing was
// shown for a while.
type summary struct {
	mu    sync.Mutex
	out   io.Writer
	verb  string // verb of the current run; "" for lines shown as they come
	lines int    // lines in the current run
	count int    // lines of the run's main verb
	last  string // last line of the run's main verb, else its first line
	shown time.Time
	now   func() time.Time
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, now: time.Now, shown: time.Now()}
}

// verbOf returns the key that groups a line into a run: its first word
// (after debootstrap's "I: "), with the words of a per-package cycle
// mapped to the cycle's main one (debootstrap's Retrieving/Validating,
// dpkg's Selecting/Preparing/Unpacking, apt's Get:N), and "" for lines
// that are always shown: warnings, errors and other "X:" prefixes.
func verbOf(line string) (verb string, main bool) {
	if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
		return "(indented)", true
	}
	rest := strings.TrimPrefix(line, "I: ")
	word, _, _ := strings.Cut(rest, " ")
	if strings.HasPrefix(word, "Get:") || strings.HasPrefix(word, "Hit:") || strings.HasPrefix(word, "Ign:") {
		return "Get", true
	}
	if strings.HasSuffix(word, ":") || word == "" {
		return "", true
	}
	if main, ok := verbAliases[word]; ok {
		return main, false
	}
	return word, true
}

// verbAliases maps a verb to the main verb of the cycle it is part of.
var verbAliases = map[string]string{
	"Validating": "Retrieving",
	"Selecting":  "Unpacking",
	"Preparing":  "Unpacking",
	"(Reading":   "Unpacking",
}

// line takes one line of output.
func (s *summary) line(l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, main := verbOf(l)
	if v == "" || v != s.verb {
		s.flushLocked()
		s.verb, s.last = v, l
		s.printLocked(l)
	}
	s.lines++
	if main {
		s.count++
		s.last = l
	}
}

// flush ends the current run.
func (s *summary) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked()
}

// flushLocked shows the end of a run of more than one line: its last line
// of the main verb and their count.
func (s *summary) flushLocked() {
	if s.lines > 1 {
		s.printLocked(fmt.Sprintf("%s (%d in all)", s.last, s.count))
	}
	s.verb, s.lines, s.count, s.last = "", 0, 0, ""
}

// tick shows the latest line of a run when nothing was shown for quiet.
func (s *summary) tick(quiet time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.now().Sub(s.shown) < quiet {
		return
	}
	if s.lines > 1 {
		s.printLocked(fmt.Sprintf("still working: %s (%d so far)", s.last, s.count))
	} else {
		s.printLocked("still working")
	}
}

// tickEvery calls tick(d) every d until the returned function is called.
func (s *summary) tickEvery(d time.Duration) (stop func()) {
	return every(d, func() { s.tick(d) })
}

func (s *summary) printLocked(l string) {
	fmt.Fprintf(s.out, "       %s\n", l)
	s.shown = s.now()
}
