package router

import (
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// clientCheckInterval is how often the fast path looks whether a client
// is still there while it waits for an instance's response.
const clientCheckInterval = 100 * time.Millisecond

// errClientGone ends a request whose client closed its connection while
// the instance had not answered yet.
var errClientGone = errors.New("client closed the connection")

// awaitResponse waits until the instance's response starts or deadline
// passes (a timeout error). While it waits it checks every
// clientCheckInterval that the client is still connected, and returns
// errClientGone once it is not, so that the instance's connection is
// closed and the request abandoned, as the general path does. An answer
// within the first interval costs one deadline more than waiting
// without checks.
func (fc *frontConn) awaitResponse(uc *upConn, deadline time.Time) error {
	for {
		step := time.Now().Add(clientCheckInterval)
		if deadline.Before(step) {
			step = deadline
		}
		uc.SetReadDeadline(step)
		_, err := uc.br.Peek(1)
		if err == nil || !isTimeout(err) || !time.Now().Before(deadline) {
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
	sc, ok := fc.c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	rc.Control(func(fd uintptr) {
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
	return gone
}
