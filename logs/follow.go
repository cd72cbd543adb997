package logs

// Follow registers a live reader of the app's lines matching q, then
// calls fn with the history q selects (as History). The channel receives
// the matching lines written after that history: none is missed or
// repeated between the two. It holds FollowBuffer lines; when the reader
// falls further behind, lines are dropped for it and, before its next
// line, it receives a synthetic line (Seq 0, Source "paas", Proc "logs")
// saying how many were lost. The channel is closed by cancel or when the
// app is removed. cancel may be called more than once. When fn fails,
// Follow cancels and returns its error.
func (a *Aggregator) Follow(app string, q Query, fn func(Line) error) (live <-chan Line, cancel func(), err error) {
	fl := &follower{ch: make(chan Line, FollowBuffer), filter: q.Filter}
	l := a.lock(app)
	lines, segs, upto := l.snapshot(q)
	l.followers[fl] = struct{}{}
	l.mu.Unlock()
	cancel = func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.followers, fl)
		fl.close()
	}
	if err := emitHistory(app, q, lines, segs, upto, fn); err != nil {
		cancel()
		return nil, cancel, err
	}
	return fl.ch, cancel, nil
}
