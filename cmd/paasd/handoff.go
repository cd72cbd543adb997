package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// A paasd started while another one runs on the same data directory takes
// over from it without dropping a request:
//
//  1. the new one connects to the running one's handoff socket and asks;
//  2. the running one stops its SSH gateway, sends its HTTP listener (and
//     its HTTPS one, when it has one) over the socket, closes the store
//     and says "released";
//  3. the new one opens the store, adopts or starts the instances, serves
//     HTTP(S) on the same listeners (the kernel's queue of connections is
//     shared, so none is refused) and says "ready";
//  4. the old one stops keeping connections alive, drains its requests,
//     leaves docker instances running or stops its exec ones, and exits.

// handoffSocket is where a running paasd waits for a successor.
func handoffSocket(dataDir string) string {
	return filepath.Join(dataDir, "run", "handoff.sock")
}

const (
	msgTakeover = "takeover"
	msgReleased = "released"
	msgReady    = "ready"
)

// successor is the new paasd's side of a handoff.
type successor struct {
	conn *net.UnixConn
	r    *bufio.Reader
}

// takeOver asks a running paasd on dataDir to hand over. It returns a nil
// successor when none answers. Otherwise it returns the HTTP listener of
// the running paasd and its HTTPS one (nil when it had none), once that
// one has released the store.
func takeOver(dataDir string) (succ *successor, httpLn, httpsLn net.Listener, err error) {
	c, err := net.DialTimeout("unix", handoffSocket(dataDir), time.Second)
	if err != nil {
		return nil, nil, nil, nil
	}
	conn := c.(*net.UnixConn)
	s := &successor{conn: conn, r: bufio.NewReader(conn)}
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := fmt.Fprintln(conn, msgTakeover); err != nil {
		conn.Close()
		return nil, nil, nil, fmt.Errorf("asking the running paasd to hand over: %w", err)
	}
	lns, err := receiveListeners(conn)
	if err != nil {
		conn.Close()
		return nil, nil, nil, fmt.Errorf("receiving the HTTP listeners: %w", err)
	}
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	line, err := s.r.ReadString('\n')
	if err != nil || line != msgReleased+"\n" {
		closeAll()
		conn.Close()
		return nil, nil, nil, fmt.Errorf("the running paasd did not release the store: %q %v", line, err)
	}
	httpLn = lns[0]
	if len(lns) > 1 {
		httpsLn = lns[1]
	}
	return s, httpLn, httpsLn, nil
}

// ready tells the old paasd that this one serves; it then stops. The
// channel returned is closed once it has stopped supervising (it closes
// the connection then), or after within.
func (s *successor) ready(within time.Duration) <-chan struct{} {
	gone := make(chan struct{})
	if _, err := fmt.Fprintln(s.conn, msgReady); err != nil {
		s.conn.Close()
		close(gone)
		return gone
	}
	s.conn.SetDeadline(time.Now().Add(within))
	go func() {
		defer close(gone)
		defer s.conn.Close()
		io.Copy(io.Discard, s.r)
	}()
	return gone
}

// predecessor is the running paasd's side of a handoff.
type predecessor struct {
	ln       *net.UnixListener
	requests chan *net.UnixConn
}

// listenHandoff waits for successors on the data dir's handoff socket.
func listenHandoff(dataDir string) (*predecessor, error) {
	path := handoffSocket(dataDir)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening for a successor: %w", err)
	}
	p := &predecessor{ln: ln, requests: make(chan *net.UnixConn, 1)}
	go func() {
		for {
			conn, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil || line != msgTakeover+"\n" {
				conn.Close()
				continue
			}
			conn.SetDeadline(time.Time{})
			p.requests <- conn
			return
		}
	}()
	return p, nil
}

func (p *predecessor) close() { p.ln.Close() }

// handOver sends the HTTP listener and the HTTPS one (when not nil) to
// the successor on conn; release is called (closing the store) before
// "released" is sent. It returns when the successor says it is ready, or
// fails. The caller closes conn once it no longer supervises instances:
// the successor waits for that before it moves any.
func handOver(conn *net.UnixConn, httpLn, httpsLn net.Listener, release func()) error {
	lns := []net.Listener{httpLn}
	if httpsLn != nil {
		lns = append(lns, httpsLn)
	}
	if err := sendListeners(conn, lns); err != nil {
		return err
	}
	release()
	if _, err := fmt.Fprintln(conn, msgReleased); err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != msgReady+"\n" {
		return fmt.Errorf("the new paasd did not become ready: %q %v", line, err)
	}
	return nil
}

// maxListeners is how many listening sockets one handoff passes.
const maxListeners = 2

// sendListeners passes duplicates of the listeners' sockets over conn, in
// one message, in order.
func sendListeners(conn *net.UnixConn, lns []net.Listener) error {
	var fds []int
	for _, ln := range lns {
		tl, ok := ln.(*net.TCPListener)
		if !ok {
			return errors.New("a listener is not a TCP listener")
		}
		f, err := tl.File()
		if err != nil {
			return err
		}
		defer f.Close()
		fds = append(fds, int(f.Fd()))
	}
	_, _, err := conn.WriteMsgUnix([]byte("L"), syscall.UnixRights(fds...), nil)
	return err
}

// receiveListeners takes the listening sockets passed over conn (one to
// maxListeners), in the order they were sent.
func receiveListeners(conn *net.UnixConn) ([]net.Listener, error) {
	buf := make([]byte, 1)
	oob := make([]byte, syscall.CmsgSpace(4*maxListeners))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("no socket in the message: %v", err)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) < 1 || len(fds) > maxListeners {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return nil, fmt.Errorf("want 1 to %d sockets in the message, got %d: %v", maxListeners, len(fds), err)
	}
	var lns []net.Listener
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "listener")
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			for _, rest := range fds[i+1:] {
				syscall.Close(rest)
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}
