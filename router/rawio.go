package router

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Readiness waits without a read first.
//
// Go's net reads try the socket before they wait for it, so a read for
// an answer that cannot have come yet costs a system call that finds
// nothing. Where the router has just sent a request and waits for the
// answer, it writes the request from inside a syscall.RawConn read, after
// the runtime has armed the socket's readiness, and waits for readiness
// at once: nothing sent after the arming goes unnoticed, and the read
// that follows finds the answer there.

// sendAwait writes req to c's socket and waits until the socket has
// something to read (or an error, or its read deadline passes: a timeout
// error). It returns how much of req went out: when the socket takes
// only part of it, it returns early, with no error, and the caller
// writes the rest itself.
func (c *upConn) sendAwait(req []byte) (sent int, err error) {
	var werr error
	first := true
	rerr := c.raw.Read(func(fd uintptr) bool {
		if !first {
			return true // readable, or woken to look: the caller reads
		}
		first = false
		for sent < len(req) {
			n, err := syscall.Write(int(fd), req[sent:])
			if n > 0 {
				sent += n
			}
			switch err {
			case nil:
			case syscall.EINTR:
			case syscall.EAGAIN:
				return true
			default:
				werr = os.NewSyscallError("write", err)
				return true
			}
		}
		return false
	})
	if werr != nil {
		return sent, &net.OpError{Op: "write", Net: "tcp", Addr: c.RemoteAddr(), Err: werr}
	}
	return sent, rerr
}

// errWouldBlock is a read inside a readiness wait that found nothing.
var errWouldBlock = errors.New("read would block")

// clientSrc is what a client connection's reader reads from: the
// connection, or, while the fast path serves inside a readiness wait,
// the socket itself without waiting.
type clientSrc struct {
	c    net.Conn
	fd   int  // the socket inside a readiness wait; -1 otherwise
	full bool // the last read filled its buffer: the socket may hold more
}

func (s *clientSrc) Read(p []byte) (int, error) {
	if s.fd < 0 {
		return s.c.Read(p)
	}
	for {
		n, err := syscall.Read(s.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			s.full = false
			return 0, errWouldBlock
		case err != nil:
			return 0, &net.OpError{Op: "read", Net: "tcp", Addr: s.c.RemoteAddr(), Err: os.NewSyscallError("read", err)}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		s.full = n == len(p)
		return n, nil
	}
}

// socketOf returns the socket under c, seen through the router's own
// wrappers, or nil when c is something else.
func socketOf(c net.Conn) syscall.RawConn {
	for {
		switch w := c.(type) {
		case *trackedConn:
			c = w.Conn
			continue
		case *cappedConn:
			c = w.Conn
			continue
		}
		break
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
