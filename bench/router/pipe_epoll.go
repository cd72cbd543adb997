package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The epoll pipe: one event loop per core, each on a thread of its own
// waiting in epoll_wait. Sockets are registered once, edge-triggered, for
// reading and writing, as nginx registers them; a loop remembers which
// of its sockets are ready and only calls read or write on those. A read
// that returns less than it asked for leaves the socket marked not ready
// (any later byte brings a new edge), so, as in nginx, no read is made
// only to find a socket empty.

// maxPipeFD bounds the descriptors the epoll pipe serves.
const maxPipeFD = 1 << 16

// pipeConns maps a descriptor to the connection it belongs to; a loop
// reads it, the accepting goroutine writes it.
var pipeConns [maxPipeFD]atomic.Pointer[epollConn]

// pipeGen numbers connections, so an event for a closed descriptor whose
// number was reused is not taken for the new connection's.
var pipeGen atomic.Int32

// epollConn is one client connection and its upstream connection.
type epollConn struct {
	gen          int32
	c, u         int // client and upstream descriptors
	cRead, cWrit bool
	uRead        bool
	state        int // pipeReading, pipeAwaiting or pipeWriting
	req          []byte
	reqN         int
	res          []byte
	resN, resOut int // bytes in res, and how many of them went out
	left         int // bytes of the response still to come after res; -1 before its head
}

const (
	pipeReading  = iota // reading a request from the client
	pipeAwaiting        // reading the response from upstream
	pipeWriting         // writing the response to the client
)

// serveEpollPipe accepts on ln and hands each connection, with an
// upstream connection of its own, to one of the loops in turn.
func serveEpollPipe(ln *net.TCPListener, backend string) error {
	loops := make([]int, runtime.GOMAXPROCS(0))
	for i := range loops {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		loops[i] = ep
		go runEpollLoop(ep)
	}
	for next := 0; ; next++ {
		c, err := ln.AcceptTCP()
		if err != nil {
			return err
		}
		u, err := net.Dial("tcp", backend)
		if err != nil {
			c.Close()
			continue
		}
		cfd, cerr := rawFD(c)
		ufd, uerr := rawFD(u.(*net.TCPConn))
		c.Close()
		u.Close()
		if cerr != nil || uerr != nil || cfd >= maxPipeFD || ufd >= maxPipeFD {
			unix.Close(cfd)
			unix.Close(ufd)
			continue
		}
		p := &epollConn{gen: pipeGen.Add(1), c: cfd, u: ufd, req: make([]byte, pipeBuf), res: make([]byte, pipeBuf), left: -1}
		pipeConns[cfd].Store(p)
		pipeConns[ufd].Store(p)
		// The upstream socket first: until the client's is registered,
		// the loop cannot act on the connection, so it cannot close it
		// (as it does at once when the client has gone already) while
		// this goroutine still uses it.
		ep := loops[next%len(loops)]
		for _, fd := range []int{ufd, cfd} {
			ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd), Pad: p.gen}
			if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
				// The connection is lost (wrk counts it as an error);
				// the pipe serves on.
				fmt.Fprintf(os.Stderr, "pipe-epoll: registering descriptor %d (client %d, upstream %d): %v\n", fd, cfd, ufd, err)
				p.close()
				break
			}
		}
	}
}

// rawFD returns a non-blocking duplicate of c's descriptor, which Go's
// poller does not watch.
func rawFD(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	return fd, unix.SetNonblock(fd, true)
}

// runEpollLoop waits on ep and serves its connections, on a thread of its
// own.
func runEpollLoop(ep int) {
	runtime.LockOSThread()
	evs := make([]unix.EpollEvent, 512)
	for {
		n, err := unix.EpollWait(ep, evs, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			panic(err)
		}
		for _, ev := range evs[:n] {
			fd := int(ev.Fd)
			p := pipeConns[fd].Load()
			if p == nil || p.gen != ev.Pad {
				continue
			}
			bad := ev.Events&(unix.EPOLLERR|unix.EPOLLHUP|unix.EPOLLRDHUP) != 0
			readable := ev.Events&unix.EPOLLIN != 0 || bad
			if fd == p.c {
				p.cRead = p.cRead || readable
				p.cWrit = p.cWrit || ev.Events&unix.EPOLLOUT != 0
			} else {
				p.uRead = p.uRead || readable
			}
			if !p.advance() {
				p.close()
			}
		}
	}
}

// advance does what the ready sockets allow; false means the connection
// is done with.
func (p *epollConn) advance() bool {
	for {
		switch p.state {
		case pipeReading:
			if !p.cRead {
				return true
			}
			n, err := unix.Read(p.c, p.req[p.reqN:])
			if err == unix.EAGAIN {
				p.cRead = false
				return true
			}
			if err != nil || n <= 0 {
				return false
			}
			p.cRead = n == len(p.req)-p.reqN // a short read emptied the socket
			p.reqN += n
			if !bytes.HasSuffix(p.req[:p.reqN], []byte("\r\n\r\n")) {
				if p.reqN == len(p.req) {
					return false
				}
				continue
			}
			// The upstream connection is idle, its buffer empty: a short
			// write is not expected, and is taken as a failure.
			if w, err := unix.Write(p.u, p.req[:p.reqN]); err != nil || w != p.reqN {
				return false
			}
			p.reqN, p.resN, p.resOut, p.left = 0, 0, 0, -1
			p.state = pipeAwaiting
		case pipeAwaiting:
			if !p.uRead {
				return true
			}
			n, err := unix.Read(p.u, p.res[p.resN:])
			if err == unix.EAGAIN {
				p.uRead = false
				return true
			}
			if err != nil || n <= 0 {
				return false
			}
			p.uRead = n == len(p.res)-p.resN
			p.resN += n
			if p.left < 0 {
				end, err := responseEnd(p.res[:p.resN])
				if err != nil {
					return false
				}
				if end < 0 {
					if p.resN == len(p.res) {
						return false
					}
					continue
				}
				p.left = end - p.resN
			} else {
				p.left -= n
			}
			if p.left < 0 {
				return false // more than the response: not expected
			}
			p.state = pipeWriting
		case pipeWriting:
			if !p.cWrit {
				return true
			}
			w, err := unix.Write(p.c, p.res[p.resOut:p.resN])
			if err == unix.EAGAIN {
				p.cWrit = false
				return true
			}
			if err != nil {
				return false
			}
			p.resOut += w
			if p.resOut < p.resN {
				p.cWrit = false // a short write: the socket's buffer is full
				return true
			}
			p.resN, p.resOut = 0, 0
			if p.left > 0 {
				p.state = pipeAwaiting
			} else {
				p.state = pipeReading
			}
		}
	}
}

// close forgets p and closes both its sockets, which leaves their epoll
// registrations too.
func (p *epollConn) close() {
	pipeConns[p.c].CompareAndSwap(p, nil)
	pipeConns[p.u].CompareAndSwap(p, nil)
	unix.Close(p.c)
	unix.Close(p.u)
}
