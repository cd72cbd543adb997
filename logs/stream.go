package logs

import (
	"bufio"
	"context"
	"errors"
	"io"
	"time"
)

// batchDelay is how long a reader that keeps up gathers new lines before
// writing them out: the most a line waits in paasd.
const batchDelay = 2 * time.Millisecond

// Stream writes the lines q selects to w in format f, then, when q.Follow
// is set, every new matching line until ctx is done, the app is removed
// or w fails. Output is written in batches: a reader that keeps up gets
// lines within batchDelay of their arrival. One that falls behind never
// holds up a writer or another reader: it reads on from the history on
// disk at its own pace, and only lines the retention removed before it
// got to them are reported, in a drop marker.
func (a *Aggregator) Stream(ctx context.Context, app string, q Query, f Format, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	var buf []byte
	pr := printer{f: f}
	write := func(l Line) error {
		buf = pr.append(buf[:0], l)
		_, err := bw.Write(buf)
		return err
	}
	if !q.Follow {
		if err := a.History(app, q, write); err != nil {
			return err
		}
		return bw.Flush()
	}
	c, err := a.follow(app, q, write)
	if err != nil {
		return err
	}
	defer c.close()
	if err := bw.Flush(); err != nil {
		return err
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var due time.Time // when the oldest line not yet written out must go
	for {
		lines, lost, wait, err := c.read()
		if errors.Is(err, errRemoved) {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
		if lost > 0 {
			if err := write(dropLine(app, lost)); err != nil {
				return err
			}
		}
		for _, l := range lines {
			if err := write(l); err != nil {
				return err
			}
		}
		now := time.Now()
		if bw.Buffered() == 0 {
			due = time.Time{}
		} else if due.IsZero() {
			due = now.Add(batchDelay)
		}
		if !due.IsZero() && !now.Before(due) {
			if err := bw.Flush(); err != nil {
				return err
			}
			due = time.Time{}
		}
		if wait == nil {
			// Behind: read on, unless the reader is gone.
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		// Caught up: wait for new lines, and write out what is gathered
		// when it is due.
		var flush <-chan time.Time
		if !due.IsZero() {
			timer.Reset(due.Sub(now))
			flush = timer.C
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-wait:
			timer.Stop()
		case <-flush:
			if err := bw.Flush(); err != nil {
				return err
			}
			due = time.Time{}
		}
	}
}
