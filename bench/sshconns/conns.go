package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"paas/bench/internal/paasd"
)

// silentSet is a set of TCP connections that send nothing.
type silentSet struct {
	conns []net.Conn
	open  atomic.Int64 // admitted and not yet closed by the server
	wg    sync.WaitGroup
}

// openSilent opens n connections to addr from sources loopback addresses
// (127.0.1.1, 127.0.1.2, ...; each in turn takes its share) and waits for
// each to be admitted (the server's version line) or refused (closed).
func openSilent(ctx context.Context, addr string, n, sources int) (*silentSet, error) {
	s := &silentSet{}
	for i := range n {
		src := i * sources / max(n, 1)
		from := net.IPv4(127, 0, byte(1+src/250), byte(1+src%250))
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("silent connection %d from %s: %w", i+1, from, err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		c.SetReadDeadline(time.Time{})
		switch {
		case err == nil && strings.HasPrefix(line, "SSH-2.0-"):
			s.conns = append(s.conns, c)
			s.open.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				io.Copy(io.Discard, r)
				s.open.Add(-1)
			}()
		case errors.Is(err, io.EOF) && line == "":
			c.Close()
		default:
			c.Close()
			s.close()
			return nil, fmt.Errorf("silent connection %d from %s: read %q, %v", i+1, from, line, err)
		}
	}
	return s, nil
}

// held is how many connections the server keeps open now.
func (s *silentSet) held() int { return int(s.open.Load()) }

func (s *silentSet) close() {
	for _, c := range s.conns {
		c.Close()
	}
	s.wg.Wait()
}

// idleSet is a set of authenticated connections, each with a session
// open and no command.
type idleSet struct{ clients []*gossh.Client }

// openIdle logs in n times with the server's key, one after the other.
func openIdle(ctx context.Context, srv *paasd.Server, n int) (*idleSet, error) {
	s := &idleSet{}
	if n == 0 {
		return s, nil
	}
	pem, err := os.ReadFile(srv.Key)
	if err != nil {
		return nil, err
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		return nil, err
	}
	cfg := &gossh.ClientConfig{
		User:            "paas",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	}
	for i := range n {
		if err := ctx.Err(); err != nil {
			s.close()
			return nil, err
		}
		cl, err := gossh.Dial("tcp", "127.0.0.1:"+srv.SSHPort, cfg)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("idle connection %d: %w", i+1, err)
		}
		s.clients = append(s.clients, cl)
		if _, err := cl.NewSession(); err != nil {
			s.close()
			return nil, fmt.Errorf("idle session %d: %w", i+1, err)
		}
	}
	return s, nil
}

func (s *idleSet) close() {
	for _, c := range s.clients {
		c.Close()
	}
}
