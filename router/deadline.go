package router

import (
	"net"
	"time"
)

// readDeadline is the read deadline set last on a connection. Setting a
// deadline costs a timer update, and the fast path's deadlines are there
// for stuck or idle peers, not for precision: a deadline set a moment
// ago that ends a little earlier than asked is kept. Callers that need
// the full time look at the clock again when a deadline fires.
type readDeadline struct {
	at time.Time // zero for none
}

// set makes the read deadline of c d, or leaves the one set before when
// that has not passed at now and ends at most slack before d.
func (r *readDeadline) set(c net.Conn, now, d time.Time, slack time.Duration) {
	if !r.at.IsZero() && r.at.After(now) && !r.at.After(d) && d.Sub(r.at) <= slack {
		return
	}
	r.at = d
	c.SetReadDeadline(d)
}

// clear lets reads of c wait for as long as they take.
func (r *readDeadline) clear(c net.Conn) {
	if !r.at.IsZero() {
		r.at = time.Time{}
		c.SetReadDeadline(time.Time{})
	}
}

// deadlineSlack is how much earlier than asked a kept deadline of length
// d may end: a sixteenth of it, at most a second.
func deadlineSlack(d time.Duration) time.Duration {
	return min(d/16, time.Second)
}
