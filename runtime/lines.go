package runtime

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// MaxLineLength is the longest line handed to a LineSink. Longer output
// lines are split into several lines of at most this many bytes; nothing
// is dropped.
const MaxLineLength = 10000

// splitBuffer is the size of a splitter's buffer: many lines per read, so
// that a sink receives them in batches.
const splitBuffer = 64 << 10

// splitter cuts a byte stream into lines and hands them to emit in
// batches: every complete line of what one Write (or read) added. A line
// longer than max bytes is cut into pieces of at most max bytes, never
// inside a UTF-8 sequence when a shorter cut avoids it. emit's argument
// and the lines in it are only valid during the call.
type splitter struct {
	max   int
	buf   []byte // an unfinished line (at most max bytes), then new bytes
	lines [][]byte
	emit  func([][]byte)
}

// newSplitter returns a splitter for lines of at most limit bytes.
func newSplitter(limit int, emit func([][]byte)) *splitter {
	return &splitter{
		max:  limit,
		buf:  make([]byte, 0, max(splitBuffer, 2*(limit+1))),
		emit: emit,
	}
}

// Write adds p to the stream and emits the lines it completes.
func (s *splitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
		s.scan(false)
	}
	return n, nil
}

// readFrom reads r into the buffer until EOF or a read error, emitting
// lines as they complete; the final unfinished line is emitted at the
// end. It returns the read error, nil at EOF.
func (s *splitter) readFrom(r io.Reader) error {
	for {
		k, err := r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+k]
		if err != nil {
			s.scan(true)
			if err == io.EOF {
				return nil
			}
			return err
		}
		s.scan(false)
	}
}

// Close emits the unfinished line, if any.
func (s *splitter) Close() error {
	s.scan(true)
	return nil
}

// scan emits every complete line in the buffer and every full piece of an
// overlong one, and the unfinished rest too when final is set. What
// remains (at most max bytes, no newline) moves to the buffer's start.
func (s *splitter) scan(final bool) {
	s.lines = s.lines[:0]
	start := 0
	for {
		rest := s.buf[start:]
		i := bytes.IndexByte(rest, '\n')
		if i >= 0 && i <= s.max {
			s.lines = append(s.lines, rest[:i])
			start += i + 1
			continue
		}
		if len(rest) > s.max {
			cut := utf8Cut(rest, s.max)
			s.lines = append(s.lines, rest[:cut])
			start += cut
			continue
		}
		if final && len(rest) > 0 {
			s.lines = append(s.lines, rest)
			start += len(rest)
		}
		break
	}
	if len(s.lines) > 0 {
		s.emit(s.lines)
	}
	s.buf = s.buf[:copy(s.buf, s.buf[start:])]
}

// splitLines reads r until EOF or a read error and hands its lines to
// emit in batches, as a splitter does. A final line without a newline is
// emitted too.
func splitLines(r io.Reader, max int, emit func([][]byte)) error {
	return newSplitter(max, emit).readFrom(r)
}

// utf8Cut returns where to cut b (longer than max) so that the first
// piece has at most max bytes and does not end inside a UTF-8 sequence
// that crosses the cut. Bytes that start no sequence are cut at max.
func utf8Cut(b []byte, max int) int {
	for back := 0; back < utf8.UTFMax && back < max; back++ {
		i := max - back
		if !utf8.RuneStart(b[i]) {
			continue
		}
		if back > 0 && i+seqLen(b[i]) > max {
			return i
		}
		return max
	}
	return max
}

// seqLen is the length of the UTF-8 sequence that lead byte c starts, or
// 1 when c starts none.
func seqLen(c byte) int {
	switch {
	case c >= 0xF0 && c <= 0xF4:
		return 4
	case c >= 0xE0 && c <= 0xEF:
		return 3
	case c >= 0xC2 && c <= 0xDF:
		return 2
	}
	return 1
}
