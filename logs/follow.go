package logs

import (
	"fmt"
	"sync"
	"time"
)

// Follow registers a live reader of the app's lines matching q, then
// calls fn with the history q selects (as History). The channel receives
// the matching lines written after that history, at the pace the caller
// reads them: none is missed or repeated between the two. Lines the
// reader could not get before the retention removed them are replaced by
// one synthetic line (Seq 0, Source "paas", Proc "logs") saying how many
// were lost. The channel is closed after cancel or when the app is
// removed. cancel may be called more than once. When fn fails, Follow
// returns its error.
func (a *Aggregator) Follow(app string, q Query, fn func(Line) error) (live <-chan Line, cancel func(), err error) {
	c, err := a.follow(app, q, fn)
	if err != nil {
		return nil, func() {}, err
	}
	ch := make(chan Line)
	done := make(chan struct{})
	var once sync.Once
	cancel = func() { once.Do(func() { close(done) }) }
	go func() {
		defer close(ch)
		defer c.close()
		send := func(l Line) bool {
			select {
			case ch <- l:
				return true
			case <-done:
				return false
			}
		}
		for {
			lines, lost, wait, err := c.read()
			if err != nil {
				return
			}
			if lost > 0 && !send(dropLine(c.app, lost)) {
				return
			}
			for _, l := range lines {
				if !send(l) {
					return
				}
			}
			if wait != nil {
				select {
				case <-wait:
				case <-done:
					return
				}
			}
		}
	}()
	return ch, cancel, nil
}

// dropLine is the synthetic line that tells a reader about lost lines.
func dropLine(app string, n uint64) Line {
	return Line{
		Time:   time.Now().UTC(),
		App:    app,
		Source: SourcePaas,
		Proc:   "logs",
		Text:   fmt.Sprintf("%d lines dropped for this reader", n),
	}
}
