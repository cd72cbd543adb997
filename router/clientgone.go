package router

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// clientCheckInterval is how often the fast path looks whether a client
// is still there while it waits for an instance's response.
const clientCheckInterval = 100 * time.Millisecond

// errClientGone ends a request whose client closed its connection while
// the instance had not answered yet.
var errClientGone = errors.New("client closed the connection")

// awaitResponse sends req, when not nil, to the instance and waits until
// the instance's response starts or deadline passes (a timeout error).
// While it waits it checks about every clientCheckInterval that the
// client is still connected, and returns errClientGone once it is not,
// so that the instance's connection is closed and the request abandoned,
// as the general path does. The first wait is for readiness alone (see
// sendAwait); should the socket have had bytes before the request went
// (an instance that answers unasked), the next check reads them.
func (fc *frontConn) awaitResponse(uc *upConn, now, deadline time.Time, req []byte) error {
	for first := true; ; first = false {
		step := now.Add(clientCheckInterval)
		if deadline.Before(step) {
			step = deadline
		}
		uc.rdl.set(uc.Conn, now, step, clientCheckInterval/2)
		var err error
		switch {
		case first && req != nil:
			sent := 0
			if uc.raw != nil {
				sent, err = uc.sendAwait(req)
			}
			if sent < len(req) {
				// The socket took part of the request, or the wait
				// ended before any went out (a deadline kept from
				// before passed meanwhile): the rest goes the
				// ordinary way.
				if err != nil && !isTimeout(err) {
					return err
				}
				if _, err = uc.Conn.Write(req[sent:]); err != nil {
					return err
				}
				_, err = uc.br.Peek(1)
			} else if err == nil && uc.br.Buffered() == 0 {
				_, err = uc.br.Peek(1)
			}
		default:
			_, err = uc.br.Peek(1)
		}
		if err == nil || !isTimeout(err) {
			return err
		}
		if now = time.Now(); !now.Before(deadline) {
			return err
		}
		if fc.clientGone() {
			return errClientGone
		}
	}
}

// clientGone reports whether the client has closed or reset its
// connection, without reading from it: a byte waiting to be read (a
// pipelined request) is left where it is.
func (fc *frontConn) clientGone() bool {
	rc := socketOf(fc.c)
	if rc == nil {
		return false
	}
	gone := false
	err := rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			gone = n == 0
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		default:
			gone = true
		}
	})
	// A connection being closed here (Close, Shutdown) has no client
	// any more either.
	return gone || err != nil
}
