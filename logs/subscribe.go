package logs

// subscribers is an immutable list of subscriber callbacks; writers read
// it without locking and Subscribe replaces it.
type subscribers struct {
	list []*subscriber
}

// subscriber is one Subscribe callback.
type subscriber struct {
	fn func(Line)
}

// Subscribe calls fn for every line of every app once it has its sequence
// number, in order per app, on the writer's goroutine (with the app's
// stream locked). fn must not block and must not call back into the
// Aggregator: it copies the line into its own bounded buffer. Synthetic
// lines (drop markers for a reader) are not passed on. cancel ends the
// subscription; fn is not called once cancel has returned.
func (a *Aggregator) Subscribe(fn func(l Line)) (cancel func()) {
	s := &subscriber{fn: fn}
	a.subMu.Lock()
	old := a.subs.Load()
	next := &subscribers{list: append(append([]*subscriber(nil), old.list...), s)}
	a.subs.Store(next)
	a.subMu.Unlock()
	return func() {
		a.subMu.Lock()
		cur := a.subs.Load()
		list := make([]*subscriber, 0, len(cur.list))
		for _, o := range cur.list {
			if o != s {
				list = append(list, o)
			}
		}
		a.subs.Store(&subscribers{list: list})
		a.subMu.Unlock()
		// A writer that loaded the old list may still be calling fn; it
		// holds its app's lock while doing so. Taking every app's lock
		// once waits for such calls to finish.
		a.quiesce()
	}
}

// publish hands l to every subscriber.
func (a *Aggregator) publish(l Line) {
	for _, s := range a.subs.Load().list {
		s.fn(l)
	}
}
