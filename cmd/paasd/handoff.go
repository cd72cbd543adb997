package main

import (
	"bufio"
	"errors"
	"fmt"
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
//  2. the running one stops its SSH gateway, sends its HTTP listener over
//     the socket, closes the store and says "released";
//  3. the new one opens the store, adopts or starts the instances, serves
//     HTTP on the same listener (the kernel's queue of connections is
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

// takeOver asks a running paasd on dataDir to hand over. It returns nil,
// nil when none answers. Otherwise it returns the HTTP listener of the
// running paasd, once that one has released the store.
func takeOver(dataDir string) (*successor, net.Listener, error) {
	c, err := net.DialTimeout("unix", handoffSocket(dataDir), time.Second)
	if err != nil {
		return nil, nil, nil
	}
	conn := c.(*net.UnixConn)
	s := &successor{conn: conn, r: bufio.NewReader(conn)}
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := fmt.Fprintln(conn, msgTakeover); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("asking the running paasd to hand over: %w", err)
	}
	ln, err := receiveListener(conn)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("receiving the HTTP listener: %w", err)
	}
	line, err := s.r.ReadString('\n')
	if err != nil || line != msgReleased+"\n" {
		ln.Close()
		conn.Close()
		return nil, nil, fmt.Errorf("the running paasd did not release the store: %q %v", line, err)
	}
	return s, ln, nil
}

// ready tells the old paasd that this one serves; it then exits.
func (s *successor) ready() {
	fmt.Fprintln(s.conn, msgReady)
	s.conn.Close()
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

// handOver sends the HTTP listener to the successor on conn; release is
// called (closing the store) before "released" is sent. It returns when
// the successor says it is ready, or fails.
func handOver(conn *net.UnixConn, httpLn net.Listener, release func()) error {
	defer conn.Close()
	if err := sendListener(conn, httpLn); err != nil {
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

// sendListener passes a duplicate of ln's socket over conn.
func sendListener(conn *net.UnixConn, ln net.Listener) error {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return errors.New("the HTTP listener is not a TCP listener")
	}
	f, err := tl.File()
	if err != nil {
		return err
	}
	defer f.Close()
	_, _, err = conn.WriteMsgUnix([]byte("L"), syscall.UnixRights(int(f.Fd())), nil)
	return err
}

// receiveListener takes a listening socket passed over conn.
func receiveListener(conn *net.UnixConn) (net.Listener, error) {
	buf := make([]byte, 1)
	oob := make([]byte, syscall.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("no socket in the message: %v", err)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("no socket in the message: %v", err)
	}
	f := os.NewFile(uintptr(fds[0]), "http-listener")
	defer f.Close()
	return net.FileListener(f)
}
