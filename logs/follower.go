package logs

import (
	"fmt"
	"time"
)

// FollowBuffer is the number of lines a follower's channel holds. A
// follower that falls further behind loses lines and is told how many.
const FollowBuffer = 8192

// follower is one live reader of an app's stream. Its fields are guarded
// by the appLog's mutex.
type follower struct {
	ch      chan Line
	filter  Filter
	dropped uint64 // lines lost since the last delivered line
	// dropFrom and dropTo are the sequence numbers of the first and last
	// of those lines, for a reader that fetches them from the history.
	dropFrom, dropTo uint64
	closed           bool
}

// deliver hands l to the follower without blocking. When lines were lost
// before, a synthetic line saying how many comes first; both must fit, or
// l is lost as well.
func (f *follower) deliver(l Line) {
	if !f.filter.Match(l) {
		return
	}
	need := 1
	if f.dropped > 0 {
		need = 2
	}
	if cap(f.ch)-len(f.ch) < need {
		if f.dropped == 0 {
			f.dropFrom = l.Seq
		}
		f.dropTo = l.Seq
		f.dropped++
		return
	}
	if f.dropped > 0 {
		m := dropLine(l.App, f.dropped)
		m.gapFrom, m.gapTo = f.dropFrom, f.dropTo
		f.ch <- m
		f.dropped = 0
	}
	f.ch <- l
}

// close closes the channel once.
func (f *follower) close() {
	if !f.closed {
		f.closed = true
		close(f.ch)
	}
}

// dropLine is the synthetic line that tells a follower about lost lines.
func dropLine(app string, n uint64) Line {
	return Line{
		Time:   time.Now().UTC(),
		App:    app,
		Source: SourcePaas,
		Proc:   "logs",
		Text:   fmt.Sprintf("%d lines dropped for this reader", n),
	}
}
