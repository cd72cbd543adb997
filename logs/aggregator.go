package logs

import (
	"sync"
	"time"
)

// Aggregator keeps the recent lines of every app and serves live
// followers. Writes never block on readers. It is safe for concurrent use.
type Aggregator struct {
	perApp int

	mu   sync.Mutex
	apps map[string]*appLog
}

// appLog is the stream of one app.
type appLog struct {
	mu        sync.Mutex
	seq       uint64
	history   *ring
	followers map[*follower]struct{}
	removed   bool // set by Remove: writers must look the app up again
}

// New returns an Aggregator that keeps the last perApp lines of each app
// (at least 1).
func New(perApp int) *Aggregator {
	return &Aggregator{
		perApp: max(perApp, 1),
		apps:   make(map[string]*appLog),
	}
}

// get returns the app's log, creating it when create is set; nil when
// absent and not created.
func (a *Aggregator) get(app string, create bool) *appLog {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.apps[app]
	if l == nil && create {
		l = &appLog{history: newRing(a.perApp), followers: make(map[*follower]struct{})}
		a.apps[app] = l
	}
	return l
}

// lock returns the app's log locked, created if needed, and never one that
// Remove has already retired.
func (a *Aggregator) lock(app string) *appLog {
	for {
		l := a.get(app, true)
		l.mu.Lock()
		if !l.removed {
			return l
		}
		l.mu.Unlock()
	}
}

// Write adds text to the app's stream as lines from source and proc. Text
// is split on newlines (one trailing newline ends the last line), carriage
// returns are dropped, other control characters except tab become '?',
// invalid UTF-8 becomes U+FFFD and overlong lines are cut. Empty text is
// one empty line.
func (a *Aggregator) Write(app, source, proc, text string) {
	texts := splitLines(text)
	t := time.Now().UTC()
	l := a.lock(app)
	defer l.mu.Unlock()
	for _, s := range texts {
		l.seq++
		line := Line{Seq: l.seq, Time: t, App: app, Source: source, Proc: proc, Text: s}
		l.history.add(line)
		for f := range l.followers {
			f.deliver(line)
		}
	}
}

// Line adds one line an instance wrote to stdout or stderr. It makes an
// Aggregator a runtime.LineSink.
func (a *Aggregator) Line(app, instance string, b []byte) {
	a.Write(app, SourceApp, instance, string(b))
}

// Tail returns up to n of the app's most recent lines matching f, oldest
// first. A negative n means every retained matching line.
func (a *Aggregator) Tail(app string, n int, f Filter) []Line {
	l := a.get(app, false)
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.history.last(n, f)
}

// Follow returns up to n recent lines matching f (as Tail) and a channel
// of the matching lines written after them: no line is missed or repeated
// between the two. The channel holds FollowBuffer lines; when the reader
// falls further behind, lines are dropped for it and, before its next
// line, it receives a synthetic line (Seq 0, Source "paas", Proc "logs")
// saying how many were lost. The channel is closed by cancel or when the
// app is removed. cancel may be called more than once.
func (a *Aggregator) Follow(app string, n int, f Filter) (history []Line, live <-chan Line, cancel func()) {
	fl := &follower{ch: make(chan Line, FollowBuffer), filter: f}
	l := a.lock(app)
	history = l.history.last(n, f)
	l.followers[fl] = struct{}{}
	l.mu.Unlock()

	cancel = func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.followers, fl)
		fl.close()
	}
	return history, fl.ch, cancel
}

// Remove forgets the app's history and closes its followers' channels. A
// later Write starts a new stream at sequence number 1.
func (a *Aggregator) Remove(app string) {
	a.mu.Lock()
	l := a.apps[app]
	delete(a.apps, app)
	a.mu.Unlock()
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.removed = true
	for f := range l.followers {
		f.close()
	}
	clear(l.followers)
}
