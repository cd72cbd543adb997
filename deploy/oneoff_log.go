package deploy

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"paas/logs"
)

// outputBacklog bounds how many chunks of a one-off's output may wait to
// be written to the log: past it, chunks are dropped (and counted) rather
// than slowing the one-off's terminal.
const outputBacklog = 256

// maxEscape bounds how many bytes of a terminal control string (an OSC
// title, a DCS) are skipped before the rest is taken as text again, so
// that an unterminated one cannot hide the output that follows.
const maxEscape = 4096

// outputLog records a one-off's output in its app's log stream as lines
// of app[run.N], behind the terminal it is attached to: writers made by
// tee hand their bytes to the terminal first, then queue a copy that one
// goroutine cuts into lines. A full queue drops the copy, never waits.
type outputLog struct {
	sink    func(lines [][]byte)
	onDrop  func(dropped int64)
	queue   chan chunk
	done    chan struct{}
	mu      sync.Mutex // guards closed and dropped against Write after close
	closed  bool
	dropped int64
	streams [2]*lineCutter // stdout, stderr
}

type chunk struct {
	stream int
	data   []byte
}

// newOutputLog starts recording: sink receives the lines, in order;
// onDrop is told, at close, how many bytes were not recorded. With tty
// set the output is a terminal's: its control sequences are removed.
func newOutputLog(tty bool, sink func(lines [][]byte), onDrop func(int64)) *outputLog {
	o := &outputLog{
		sink:   sink,
		onDrop: onDrop,
		queue:  make(chan chunk, outputBacklog),
		done:   make(chan struct{}),
	}
	for i := range o.streams {
		o.streams[i] = &lineCutter{tty: tty}
	}
	go o.loop()
	return o
}

// loop cuts queued chunks into lines and hands each chunk's lines to the
// sink until the queue is closed, then the unfinished lines.
func (o *outputLog) loop() {
	defer close(o.done)
	for c := range o.queue {
		if lines := o.streams[c.stream].add(c.data); len(lines) > 0 {
			o.sink(lines)
		}
	}
	for _, lc := range o.streams {
		if lines := lc.flush(); len(lines) > 0 {
			o.sink(lines)
		}
	}
}

// offer queues a copy of p from stream, or counts it dropped.
func (o *outputLog) offer(stream int, p []byte) {
	if len(p) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	select {
	case o.queue <- chunk{stream, bytes.Clone(p)}:
	default:
		o.dropped += int64(len(p))
	}
}

// close records what is queued and the unfinished lines, and returns
// once they are in the log. Writes after close are not recorded.
func (o *outputLog) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		<-o.done
		return
	}
	o.closed = true
	close(o.queue)
	dropped := o.dropped
	o.mu.Unlock()
	<-o.done
	if dropped > 0 && o.onDrop != nil {
		o.onDrop(dropped)
	}
}

// tee returns a writer that writes to w (none when w is nil) and records
// what it writes as stream (0 stdout, 1 stderr). Once w fails, later
// output is only recorded: the one-off's output keeps reaching the log
// after its terminal went away.
func (o *outputLog) tee(w io.Writer, stream int) io.Writer {
	return &teeWriter{o: o, w: w, stream: stream}
}

type teeWriter struct {
	o      *outputLog
	w      io.Writer
	stream int
	failed bool
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if t.w != nil && !t.failed {
		if _, err := t.w.Write(p); err != nil {
			t.failed = true
		}
	}
	t.o.offer(t.stream, p)
	return len(p), nil
}

// lineCutter cuts a byte stream into lines of at most logs.MaxTextBytes
// bytes; with tty set it first removes terminal escape sequences (CSI,
// OSC and the other ESC sequences), whatever chunks they are split over.
// Other control characters are left for the log to escape.
type lineCutter struct {
	tty     bool
	state   escState
	skipped int // bytes of the control string being skipped
	partial []byte
	lines   [][]byte
	// out holds the lines of one add call; reused between calls.
	out []byte
}

type escState int

const (
	ground    escState = iota
	escape             // after ESC
	escInter           // ESC then intermediate bytes (0x20-0x2f)
	csi                // ESC [
	ctlString          // ESC ], ESC P, ESC X, ESC ^, ESC _: up to BEL or ST
	ctlEscape          // ESC inside a control string
)

// add returns the complete lines p finishes; they are valid until the
// next call.
func (c *lineCutter) add(p []byte) [][]byte {
	c.lines = c.lines[:0]
	c.out = c.out[:0]
	var ends []int // end offset in c.out of each line
	emit := func() {
		c.out = append(c.out, c.partial...)
		ends = append(ends, len(c.out))
		c.partial = c.partial[:0]
	}
	for _, b := range p {
		if c.tty && !c.text(b) {
			continue
		}
		if b == '\n' {
			emit()
			continue
		}
		c.partial = append(c.partial, b)
		if len(c.partial) >= logs.MaxTextBytes {
			emit()
		}
	}
	start := 0
	for _, end := range ends {
		c.lines = append(c.lines, c.out[start:end])
		start = end
	}
	return c.lines
}

// flush returns the unfinished line, if any.
func (c *lineCutter) flush() [][]byte {
	if len(c.partial) == 0 {
		return nil
	}
	line := c.partial
	c.partial = nil
	return [][]byte{line}
}

// text steps the escape-sequence state machine over b and reports
// whether b is text to keep.
func (c *lineCutter) text(b byte) bool {
	switch c.state {
	case ground:
		if b == 0x1b {
			c.state = escape
			return false
		}
		return true
	case escape:
		switch {
		case b == '[':
			c.state = csi
		case b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_':
			c.state, c.skipped = ctlString, 0
		case b >= 0x20 && b <= 0x2f:
			c.state = escInter
		default:
			c.state = ground
		}
		return false
	case escInter:
		if b < 0x20 || b > 0x2f {
			c.state = ground
		}
		return false
	case csi:
		if b >= 0x40 && b <= 0x7e {
			c.state = ground
		}
		return false
	case ctlString, ctlEscape:
		c.skipped++
		switch {
		case b == 0x07 || (c.state == ctlEscape && b == '\\'):
			c.state = ground
		case b == 0x1b:
			c.state = ctlEscape
		case c.skipped > maxEscape:
			c.state = ground
			return true
		default:
			c.state = ctlString
		}
		return false
	}
	panic(fmt.Sprintf("lineCutter: state %d", c.state))
}
