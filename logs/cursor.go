package logs

import "errors"

// maxBatch bounds the lines one cursor read returns.
const maxBatch = 1024

// errRemoved ends a reader of an app whose stream was removed.
var errRemoved = errors.New("log stream removed")

// cursor is one reader's place in an app's stream: the sequence number of
// the next line it reads. Lines come from the tail in memory while it
// still holds that line, and from the history on disk once the reader
// has fallen further behind, read forward from where it left off. A
// cursor costs writers nothing but a wake-up when it waits: however slow
// its reader, no writer waits for it and no line is held for it. Lines
// the retention removed before the cursor reached them are counted as
// lost. A cursor is not safe for concurrent use.
type cursor struct {
	app    string
	l      *appLog
	filter Filter
	next   uint64
	seg    segReader
	batch  []Line
}

// follow registers a reader of the app's lines matching q, then calls fn
// with the history q selects (as History) and returns a cursor at the
// line after it: none is missed or repeated between the two. The caller
// must close the cursor. When fn fails, follow returns its error.
func (a *Aggregator) follow(app string, q Query, fn func(Line) error) (*cursor, error) {
	l := a.lock(app)
	lines, segs, upto := l.snapshot(q)
	l.readers++
	l.mu.Unlock()
	c := &cursor{app: app, l: l, filter: q.Filter, next: upto + 1}
	c.seg.damaged = func(path string) { a.reportDamage(app, path) }
	if err := emitHistory(app, q, lines, segs, upto, fn, c.seg.damaged); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// close releases the cursor.
func (c *cursor) close() {
	c.seg.close()
	c.l.mu.Lock()
	c.l.readers--
	c.l.mu.Unlock()
}

// read returns the next lines that match the filter, at most maxBatch,
// valid until the next read, and how many lines of the stream were lost
// before them. When there is nothing new yet it returns a channel that
// is closed once there may be: wait on it, then read again. It returns
// errRemoved once the app's stream has been removed.
func (c *cursor) read() (lines []Line, lost uint64, wait <-chan struct{}, err error) {
	l := c.l
	l.mu.Lock()
	if l.removed {
		l.mu.Unlock()
		return nil, 0, nil, errRemoved
	}
	if c.next > l.seq {
		if l.wake == nil {
			l.wake = make(chan struct{})
		}
		w := l.wake
		l.mu.Unlock()
		return nil, 0, w, nil
	}
	oldest := l.history.oldest()
	if oldest != 0 && c.next >= oldest {
		c.batch, c.next = l.history.appendFrom(c.batch[:0], c.next, c.filter, maxBatch)
		l.mu.Unlock()
		// The place on disk stays: should the reader fall behind again,
		// it reads on from there, skipping only what it got from memory.
		return c.batch, 0, nil, nil
	}
	// Behind the tail in memory: the lines before it are on disk, if
	// anywhere, once the writer's buffer is written out.
	end := l.seq
	if oldest != 0 {
		end = oldest - 1
	}
	var segs []segment
	var serr error
	if l.disk != nil {
		segs, serr = l.disk.snapshot()
	}
	l.mu.Unlock()
	c.batch, lost, err = c.seg.read(c.batch[:0], segs, &c.next, end, c.filter, maxBatch)
	for i := range c.batch {
		c.batch[i].App = c.app
	}
	if err != nil || serr != nil {
		// The history cannot be read: what it holds is lost to this
		// reader, which goes on from the tail in memory.
		c.seg.close()
		err = nil
	}
	if len(c.batch) == 0 && lost == 0 && c.next <= end {
		// The disk has nothing more before the tail in memory.
		lost = end + 1 - c.next
		c.next = end + 1
	}
	return c.batch, lost, nil, err
}
