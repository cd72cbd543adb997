package gateway

import (
	"context"
	"sync"

	"paas/access"
)

// liveSessions are the commands running on apps (a `logs -t`, an
// attached `run`, a push), so that taking access away ends those it no
// longer allows at once, not when they end by themselves.
type liveSessions struct {
	mu sync.Mutex
	m  map[*liveSession]struct{}
}

// liveSession is one command running on an app for a user.
type liveSession struct {
	user   user
	action access.Action
	app    string
	cancel context.CancelFunc

	mu      sync.Mutex
	refusal error // set when recheck ended it
}

// start registers a command of u taking action on app; the returned
// context ends when access is taken away, and done unregisters it.
func (l *liveSessions) start(ctx context.Context, u user, a access.Action, app string) (context.Context, *liveSession, func()) {
	ctx, cancel := context.WithCancel(ctx)
	ls := &liveSession{user: u, action: a, app: app, cancel: cancel}
	l.mu.Lock()
	if l.m == nil {
		l.m = map[*liveSession]struct{}{}
	}
	l.m[ls] = struct{}{}
	l.mu.Unlock()
	return ctx, ls, func() {
		l.mu.Lock()
		delete(l.m, ls)
		l.mu.Unlock()
		cancel()
	}
}

// ended returns the refusal that ended the command, nil when access was
// not taken away.
func (ls *liveSession) ended() error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.refusal
}

// recheck asks the rule again for every command running on app, but
// self (the command that changed access), and ends those it refuses now;
// it returns how many it ended.
func (l *liveSessions) recheck(s *Server, app string, self *liveSession) int {
	l.mu.Lock()
	var on []*liveSession
	for ls := range l.m {
		if ls.app == app && ls != self {
			on = append(on, ls)
		}
	}
	l.mu.Unlock()
	n := 0
	for _, ls := range on {
		err := s.allow(ls.user, ls.action, appObj(app))
		if err == nil {
			continue
		}
		ls.mu.Lock()
		ls.refusal = err
		ls.mu.Unlock()
		ls.cancel()
		n++
	}
	return n
}
