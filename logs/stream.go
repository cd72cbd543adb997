package logs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"
)

// batchDelay is how long a follower gathers new lines before writing
// them out: the most a line waits in paasd once a reader keeps up.
const batchDelay = 2 * time.Millisecond

// Stream writes the lines q selects to w in format f, then, when q.Follow
// is set, every new matching line until ctx is done, the app is removed
// or w fails. Output is written in batches: a reader that keeps up gets
// lines within batchDelay of their arrival. One that falls behind never
// holds up a writer: the lines its queue had no room for are read back
// from the history when it catches up, and only lines the retention
// removed before that are reported in a drop marker.
func (a *Aggregator) Stream(ctx context.Context, app string, q Query, f Format, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	var buf []byte
	write := func(l Line) error {
		buf = f.Append(buf[:0], l)
		_, err := bw.Write(buf)
		return err
	}
	// A drop marker on the live channel stands for lines that are in the
	// history: they are fetched from there, in order, and only those the
	// retention has removed meanwhile are reported as dropped.
	emit := func(l Line) error {
		if l.gapTo == 0 {
			return write(l)
		}
		var want uint64
		fmt.Sscan(l.Text, &want)
		// Lines lost to the retention are the oldest of the gap: count
		// what the history still has first, so that the marker comes
		// before the lines that follow it.
		have, err := a.readRange(app, q.Filter, l.gapFrom, l.gapTo, func(Line) error { return nil })
		if err != nil {
			return err
		}
		if lost := int64(want) - int64(have); lost > 0 {
			if err := write(dropLine(app, uint64(lost))); err != nil {
				return err
			}
		}
		got, err := a.readRange(app, q.Filter, l.gapFrom, l.gapTo, write)
		if err != nil {
			return err
		}
		if got < have {
			return write(dropLine(app, uint64(have-got)))
		}
		return nil
	}
	if !q.Follow {
		if err := a.History(app, q, emit); err != nil {
			return err
		}
		return bw.Flush()
	}
	live, cancel, err := a.Follow(app, q, emit)
	if err != nil {
		return err
	}
	defer cancel()
	if err := bw.Flush(); err != nil {
		return err
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-live:
			if !ok {
				return bw.Flush()
			}
			if err := emit(l); err != nil {
				return err
			}
		}
		// Gather what arrives within batchDelay into as few writes as
		// possible: one SSH packet per line would cap the rate far below
		// what writers produce.
		timer.Reset(batchDelay)
	gather:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case l, ok := <-live:
				if !ok {
					timer.Stop()
					return bw.Flush()
				}
				if err := emit(l); err != nil {
					timer.Stop()
					return err
				}
			case <-timer.C:
				break gather
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
}
