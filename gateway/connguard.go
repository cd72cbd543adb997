package gateway

import (
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// ConnLimits bound what the gateway holds for clients. A zero field takes
// its default.
type ConnLimits struct {
	// HandshakeTimeout is the time from accepting a connection to its
	// client being authenticated; then it is closed. Default 20s.
	HandshakeTimeout time.Duration
	// IdleTimeout closes an authenticated connection that runs no
	// command for this long. A running command (a push, `logs -t`, an
	// attached `run`), however quiet, keeps its connection. Default 10m.
	IdleTimeout time.Duration
	// MaxUnauthenticated is how many connections may be waiting to
	// authenticate at once. Default 100.
	MaxUnauthenticated int
	// MaxUnauthenticatedPerSource is how many of them may come from one
	// source: one IPv4 address, or one IPv6 /64. Default 10.
	MaxUnauthenticatedPerSource int
}

// DefaultConnLimits are the limits a zero ConnLimits field takes.
var DefaultConnLimits = ConnLimits{
	HandshakeTimeout:            20 * time.Second,
	IdleTimeout:                 10 * time.Minute,
	MaxUnauthenticated:          100,
	MaxUnauthenticatedPerSource: 10,
}

func (l ConnLimits) withDefaults() ConnLimits {
	d := DefaultConnLimits
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = d.HandshakeTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxUnauthenticated <= 0 {
		l.MaxUnauthenticated = d.MaxUnauthenticated
	}
	if l.MaxUnauthenticatedPerSource <= 0 {
		l.MaxUnauthenticatedPerSource = d.MaxUnauthenticatedPerSource
	}
	return l
}

// noticeInterval is how often at most each kind of connection-limit
// notice is logged.
const noticeInterval = time.Minute

// connGuard admits connections and closes those that overstay: it caps the
// connections waiting to authenticate, gives each a deadline, and closes
// authenticated ones that stay idle.
//
// Over the overall cap, a newcomer from a source holding fewer waiting
// connections than the source holding the most takes the place of that
// source's oldest; otherwise it is closed at once. So a flood from a few
// sources cannot lock out clients from the others.
type connGuard struct {
	limits  ConnLimits
	log     *slog.Logger
	notices *noticeLog
	refused *refusedLog

	mu       sync.Mutex
	seq      uint64
	waiting  map[*guardedConn]struct{} // accepted, not yet authenticated
	bySource map[netip.Prefix]int      // waiting connections per source
	authed   map[*guardedConn]struct{}
	closed   bool
}

// connState is where a guarded connection is in its life.
type connState int

const (
	stateWaiting connState = iota
	stateAuthed
	stateGone
)

// guardedConn is an accepted connection the guard watches.
type guardedConn struct {
	net.Conn
	g      *connGuard
	source netip.Prefix
	seq    uint64
	once   sync.Once

	// Guarded by g.mu.
	state   connState
	timer   *time.Timer // the handshake deadline, then the idle timer
	busy    int         // commands running
	idleGen uint64      // which idle timer is current
	key     string      // fingerprint of the key it authenticated with
	// unknownKeys are the fingerprints of keys the client offered that
	// no user has, logged if it leaves without authenticating.
	unknownKeys []string
}

func newConnGuard(l ConnLimits, log *slog.Logger) *connGuard {
	return &connGuard{
		limits:   l.withDefaults(),
		log:      log,
		notices:  &noticeLog{log: log, every: noticeInterval, last: map[string]time.Time{}, missed: map[string]int{}},
		refused:  &refusedLog{log: log, now: time.Now},
		waiting:  map[*guardedConn]struct{}{},
		bySource: map[netip.Prefix]int{},
		authed:   map[*guardedConn]struct{}{},
	}
}

// sourceOf is the source a connection is counted under: the remote IPv4
// address, or the /64 of an IPv6 one.
func sourceOf(a net.Addr) netip.Prefix {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}
	}
	ip := ta.AddrPort().Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p
	}
	return netip.PrefixFrom(ip, 32)
}

// admit starts watching a new connection; nil means it was refused (the
// caller closes it).
func (g *connGuard) admit(c net.Conn) *guardedConn {
	src := sourceOf(c.RemoteAddr())
	remote := c.RemoteAddr().String()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	if g.bySource[src] >= g.limits.MaxUnauthenticatedPerSource {
		g.mu.Unlock()
		g.notices.note("per-source", "ssh: too many unauthenticated connections from one source; closing new ones", "remote", remote, "limit", g.limits.MaxUnauthenticatedPerSource)
		return nil
	}
	var victim *guardedConn
	if len(g.waiting) >= g.limits.MaxUnauthenticated {
		if victim = g.evictable(src); victim == nil {
			g.mu.Unlock()
			g.notices.note("overall", "ssh: too many unauthenticated connections; closing new ones", "remote", remote, "limit", g.limits.MaxUnauthenticated)
			return nil
		}
		g.forgetLocked(victim)
	}
	g.seq++
	gc := &guardedConn{Conn: c, g: g, source: src, seq: g.seq}
	g.waiting[gc] = struct{}{}
	g.bySource[src]++
	gc.timer = time.AfterFunc(g.limits.HandshakeTimeout, gc.handshakeExpired)
	g.mu.Unlock()
	if victim != nil {
		victim.Conn.Close()
		g.notices.note("evicted", "ssh: too many unauthenticated connections; closing the oldest of the busiest source", "remote", victim.RemoteAddr().String(), "limit", g.limits.MaxUnauthenticated)
	}
	return gc
}

// evictable returns the oldest waiting connection of the source with the
// most waiting ones, when src has fewer; else nil.
func (g *connGuard) evictable(src netip.Prefix) *guardedConn {
	most := 0
	for _, n := range g.bySource {
		most = max(most, n)
	}
	if g.bySource[src] >= most {
		return nil
	}
	var oldest *guardedConn
	for c := range g.waiting {
		if g.bySource[c.source] == most && (oldest == nil || c.seq < oldest.seq) {
			oldest = c
		}
	}
	return oldest
}

// forgetLocked stops watching c.
func (g *connGuard) forgetLocked(c *guardedConn) {
	switch c.state {
	case stateWaiting:
		g.leaveWaitingLocked(c)
	case stateAuthed:
		delete(g.authed, c)
	}
	c.state = stateGone
	if c.timer != nil {
		c.timer.Stop()
	}
}

// leaveWaitingLocked takes c off the waiting connections.
func (g *connGuard) leaveWaitingLocked(c *guardedConn) {
	delete(g.waiting, c)
	if g.bySource[c.source]--; g.bySource[c.source] <= 0 {
		delete(g.bySource, c.source)
	}
}

func (c *guardedConn) handshakeExpired() {
	g := c.g
	g.mu.Lock()
	if c.state != stateWaiting {
		g.mu.Unlock()
		return
	}
	unknown := c.unknownKeys
	g.forgetLocked(c)
	g.mu.Unlock()
	c.Conn.Close()
	g.refused.note(c.RemoteAddr().String(), unknown)
	g.notices.note("deadline", "ssh: closing connections that did not authenticate in time", "remote", c.RemoteAddr().String(), "timeout", g.limits.HandshakeTimeout)
}

// authenticated moves c from waiting to authenticated with the key of
// fingerprint fp and starts its idle timer; false means c is already being
// closed.
func (c *guardedConn) authenticated(fp string) bool {
	g := c.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.state != stateWaiting {
		return false
	}
	c.timer.Stop()
	g.leaveWaitingLocked(c)
	c.state = stateAuthed
	c.key = fp
	g.authed[c] = struct{}{}
	c.armIdleLocked()
	return true
}

// armIdleLocked starts the idle timer when c runs no command; once the
// guard is closed, an idle connection is closed at once.
func (c *guardedConn) armIdleLocked() {
	if c.state != stateAuthed || c.busy > 0 {
		return
	}
	c.idleGen++
	gen := c.idleGen
	d := c.g.limits.IdleTimeout
	if c.g.closed {
		d = 0
	}
	c.timer = time.AfterFunc(d, func() { c.idleExpired(gen) })
}

func (c *guardedConn) idleExpired(gen uint64) {
	g := c.g
	g.mu.Lock()
	if c.state != stateAuthed || c.busy > 0 || gen != c.idleGen {
		g.mu.Unlock()
		return
	}
	g.forgetLocked(c)
	g.mu.Unlock()
	g.log.Info("closing idle ssh connection", "remote", c.RemoteAddr().String(), "idle", g.limits.IdleTimeout)
	c.Conn.Close()
}

// running marks a command as running on c until the returned function is
// called; the connection is not idle meanwhile.
func (c *guardedConn) running() (done func()) {
	g := c.g
	g.mu.Lock()
	c.busy++
	c.idleGen++ // a timer firing now is stale
	if c.timer != nil && c.state == stateAuthed {
		c.timer.Stop()
	}
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		c.busy--
		c.armIdleLocked()
		g.mu.Unlock()
	}
}

// Close closes the connection and stops watching it.
func (c *guardedConn) Close() error {
	c.once.Do(func() {
		c.g.mu.Lock()
		var unknown []string
		if c.state == stateWaiting {
			unknown = c.unknownKeys
		}
		c.g.forgetLocked(c)
		c.g.mu.Unlock()
		c.g.refused.note(c.RemoteAddr().String(), unknown)
	})
	return c.Conn.Close()
}

// close closes every connection waiting to authenticate and every idle
// authenticated one, and refuses new ones; connections running a command
// are left to finish.
func (g *connGuard) close() {
	g.mu.Lock()
	g.closed = true
	var doomed []*guardedConn
	for c := range g.waiting {
		doomed = append(doomed, c)
	}
	for c := range g.authed {
		if c.busy == 0 {
			doomed = append(doomed, c)
		}
	}
	g.dropAndUnlock(doomed)
}

// closeKey closes at once every connection that authenticated with one of
// the keys of fingerprints fps, busy or not, except keep (the connection
// asking, closed by its session once it has answered). It returns how many
// it closed.
func (g *connGuard) closeKey(keep *guardedConn, fps ...string) int {
	g.mu.Lock()
	var doomed []*guardedConn
	for c := range g.authed {
		if c != keep && slices.Contains(fps, c.key) {
			doomed = append(doomed, c)
		}
	}
	g.dropAndUnlock(doomed)
	return len(doomed)
}

// dropAndUnlock forgets the connections doomed, chosen under g.mu (which
// the caller holds), releases the lock, then closes them.
func (g *connGuard) dropAndUnlock(doomed []*guardedConn) {
	for _, c := range doomed {
		g.forgetLocked(c)
	}
	g.mu.Unlock()
	for _, c := range doomed {
		c.Conn.Close()
	}
}

// counts returns how many connections wait to authenticate and how many
// are authenticated.
func (g *connGuard) counts() (waiting, authed int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting), len(g.authed)
}

// noticeLog logs each kind of notice at most once per interval, with how
// many were left unlogged since the last one.
type noticeLog struct {
	log   *slog.Logger
	every time.Duration

	mu     sync.Mutex
	last   map[string]time.Time
	missed map[string]int
}

func (n *noticeLog) note(kind, msg string, args ...any) {
	n.mu.Lock()
	now := time.Now()
	if t, ok := n.last[kind]; ok && now.Sub(t) < n.every {
		n.missed[kind]++
		n.mu.Unlock()
		return
	}
	missed := n.missed[kind]
	n.last[kind], n.missed[kind] = now, 0
	n.mu.Unlock()
	n.log.Warn(msg, append(args, "kind", kind, "unlogged_since_last", missed)...)
}
