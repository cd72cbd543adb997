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

// splitLines reads r until EOF or a read error and calls emit once per
// line, without the trailing newline. A line longer than max bytes is cut
// into pieces of at most max bytes, never inside a UTF-8 sequence when a
// shorter cut avoids it. A final line without a newline is emitted too.
// emit's argument is only valid during the call.
func splitLines(r io.Reader, max int, emit func([]byte)) error {
	buf := make([]byte, 0, max+1)
	chunk := make([]byte, 32*1024)
	for {
		n, err := r.Read(chunk)
		data := chunk[:n]
		for len(data) > 0 {
			// Fill the buffer up to max+1 bytes: enough to decide whether
			// the pending line fits.
			room := max + 1 - len(buf)
			take := min(room, len(data))
			buf = append(buf, data[:take]...)
			data = data[take:]
			buf = emitComplete(buf, max, emit)
		}
		if err != nil {
			if len(buf) > 0 {
				emit(buf)
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// emitComplete emits every complete line of buf and every full piece of an
// overlong line, and returns what remains (at most max bytes, no newline).
func emitComplete(buf []byte, max int, emit func([]byte)) []byte {
	start := 0
	for {
		rest := buf[start:]
		i := bytes.IndexByte(rest, '\n')
		switch {
		case i >= 0 && i <= max:
			emit(rest[:i])
			start += i + 1
		case len(rest) > max:
			cut := utf8Cut(rest, max)
			emit(rest[:cut])
			start += cut
		default:
			n := copy(buf, rest)
			return buf[:n]
		}
	}
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
