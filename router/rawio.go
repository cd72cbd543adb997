package router

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// Readiness waits without a read first.
//
// Go's net reads try the socket before they wait for it, so a read for
// bytes that cannot have come yet costs a system call that finds
// nothing; and each read starts by forgetting the readiness the runtime
// saw before it. The fast path avoids both inside a syscall.RawConn
// read, whose callback runs once the runtime has armed the socket and
// again each time it becomes readable:
//
//   - towards an instance (sendAwait), the request is written from the
//     first callback, after the arming, and the wait starts at once:
//     the answer comes after the request, so it cannot go unnoticed;
//   - towards a client (frontConn.serveReady), bodiless requests are
//     served from inside one wait that lasts as long as the connection
//     stays on that path: after a response, when the last read left the
//     socket empty, it waits at once, since any byte that came after
//     that read has marked the socket readable.
//
// Inside the callbacks the socket is read and written with raw system
// calls (rawRead, rawWrite).

// sendAwait writes req to c's socket, waits until the socket has
// something to read (or an error, or its read deadline passes: a timeout
// error) and reads what there is into c.br. It returns how much of req
// went out: when the socket takes only part of it, it returns early, with
// no error, and the caller writes the rest and reads itself.
func (c *upConn) sendAwait(req []byte) (sent int, err error) {
	a := &c.await
	*a = awaitState{req: req, first: true}
	if c.onReady == nil {
		c.onReady = c.ready // bound once: no allocation per request
	}
	err = c.raw.Read(c.onReady)
	switch {
	case a.werr != nil:
		err = &net.OpError{Op: "write", Net: "tcp", Addr: c.RemoteAddr(), Err: a.werr}
	case err == nil:
		err = a.rerr
	}
	sent = a.sent
	*a = awaitState{}
	return sent, err
}

// awaitState is sendAwait's state between the callbacks of its wait.
type awaitState struct {
	req        []byte
	sent       int
	first      bool
	werr, rerr error
}

// ready is sendAwait's callback: the first call sends the request and
// asks to wait; the next ones read what came.
func (c *upConn) ready(fd uintptr) bool {
	a := &c.await
	if !a.first {
		c.src.fd = int(fd)
		_, a.rerr = c.br.Peek(1)
		c.src.fd = -1
		return a.rerr != errWouldBlock // else woken for nothing: wait on
	}
	a.first = false
	for a.sent < len(a.req) {
		n, errno := rawWrite(int(fd), a.req[a.sent:])
		switch errno {
		case 0:
			a.sent += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return true
		default:
			a.werr = os.NewSyscallError("write", errno)
			return true
		}
	}
	return false
}

// rawRead and rawWrite are read(2) and write(2) on a non-blocking socket,
// made without telling the scheduler: they never block, so there is no
// processor to hand to another thread while they run, and the runtime's
// monitor has none to take back. (A write on loopback runs the
// receiver's network stack too, tens of microseconds at most.)
func rawRead(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

func rawWrite(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

// errWouldBlock is a read inside a readiness wait that found nothing.
var errWouldBlock = errors.New("read would block")

// sockSrc is what a connection's reader reads from: the connection, or,
// while the fast path works inside a readiness wait of its socket, the
// socket itself, without waiting.
type sockSrc struct {
	c    net.Conn
	fd   int  // the socket inside a readiness wait; -1 otherwise
	full bool // the last read filled its buffer: the socket may hold more
}

func (s *sockSrc) Read(p []byte) (int, error) {
	if s.fd < 0 {
		return s.c.Read(p)
	}
	for {
		n, errno := rawRead(s.fd, p)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			s.full = false
			return 0, errWouldBlock
		case errno != 0:
			return 0, &net.OpError{Op: "read", Net: "tcp", Addr: s.c.RemoteAddr(), Err: os.NewSyscallError("read", errno)}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		s.full = n == len(p)
		return n, nil
	}
}

// sockSink is what a client connection's writer writes to: the
// connection, or, inside a readiness wait of its socket, the socket
// itself as long as it takes the bytes at once.
type sockSink struct {
	c  net.Conn
	fd int // the socket inside a readiness wait; -1 otherwise
}

func (s *sockSink) Write(p []byte) (int, error) {
	sent := 0
	for s.fd >= 0 && sent < len(p) {
		n, errno := rawWrite(s.fd, p[sent:])
		switch errno {
		case 0:
			sent += n
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			// The socket's buffer is full: wait for it as any write.
		default:
			return sent, &net.OpError{Op: "write", Net: "tcp", Addr: s.c.RemoteAddr(), Err: os.NewSyscallError("write", errno)}
		}
		break
	}
	if sent == len(p) {
		return sent, nil
	}
	n, err := s.c.Write(p[sent:])
	return sent + n, err
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
