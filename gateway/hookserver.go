package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"paas"
)

// pushSession is what a hook token stands for: one git receive-pack run
// for one SSH session.
type pushSession struct {
	ctx  context.Context // ends with the SSH session
	app  string
	user user // the pusher
	repo string

	mu      sync.Mutex
	unlock  func() // the app's lock, held from the release going live until the branch follows
	ref     string // the branch the release was made from
	commit  string // the live commit
	settled bool   // git receive-pack has ended
	refused bool   // the hook refused the push: git push fails

	hooked atomic.Bool // the pre-receive hook has called: the pack is in
}

// refuse records that the hook refused the push.
func (ps *pushSession) refuse() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.refused = true
}

// wasRefused reports whether the hook refused the push.
func (ps *pushSession) wasRefused() bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.refused
}

// keep takes over the app's lock after commit of ref went live. It
// reports false when receive-pack has already ended: the caller settles
// at once.
func (ps *pushSession) keep(ref, commit string, unlock func()) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.ref, ps.commit, ps.unlock = ref, commit, unlock
	return !ps.settled
}

// take marks receive-pack as ended and returns what keep recorded,
// forgetting the lock so that it is released once.
func (ps *pushSession) take() (ref, commit string, unlock func()) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.settled = true
	ref, commit, unlock = ps.ref, ps.commit, ps.unlock
	ps.unlock = nil
	return ref, commit, unlock
}

// hookServer accepts hook connections on a unix socket and runs the deploy
// each one asks for.
type hookServer struct {
	s *Server

	mu     sync.Mutex
	ln     net.Listener
	tokens map[string]*pushSession
	closed bool
	wg     sync.WaitGroup
}

func newHookServer(s *Server) *hookServer {
	return &hookServer{s: s, tokens: map[string]*pushSession{}}
}

func (h *hookServer) listen(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale hook socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listening on hook socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("securing hook socket: %w", err)
	}
	h.mu.Lock()
	h.ln = ln
	h.mu.Unlock()
	return nil
}

func (h *hookServer) serve() {
	h.mu.Lock()
	ln := h.ln
	h.mu.Unlock()
	for {
		conn, err := ln.Accept()
		if err != nil {
			h.mu.Lock()
			closed := h.closed
			h.mu.Unlock()
			if !closed {
				h.s.log.Error("hook socket accept failed", "err", err)
			}
			return
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer conn.Close()
			h.handle(conn)
		}()
	}
}

func (h *hookServer) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.ln != nil {
		h.ln.Close()
	}
}

func (h *hookServer) wait() { h.wg.Wait() }

// register makes a fresh token for ps; release forgets it.
func (h *hookServer) register(ps *pushSession) (token string, release func()) {
	b := make([]byte, 32)
	rand.Read(b)
	token = hex.EncodeToString(b)
	h.mu.Lock()
	h.tokens[token] = ps
	h.mu.Unlock()
	return token, func() {
		h.mu.Lock()
		delete(h.tokens, token)
		h.mu.Unlock()
	}
}

func (h *hookServer) lookup(token string) *pushSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tokens[token]
}

// hookConn writes output and the final status to one hook connection.
type hookConn struct {
	mu   sync.Mutex
	conn net.Conn
}

// Write sends p as output frames; it is safe for concurrent use.
func (c *hookConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxOutputFrame)]
		if err := writeFrame(c.conn, frameOutput, chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

func (c *hookConn) exit(status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	writeFrame(c.conn, frameExit, []byte{byte(status)})
}

func (h *hookServer) handle(conn net.Conn) {
	log := h.s.log
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	typ, payload, err := readFrame(conn, maxRequestFrame)
	if err != nil || typ != frameRequest {
		log.Warn("bad hook request", "err", err)
		return
	}
	conn.SetReadDeadline(time.Time{})
	out := &hookConn{conn: conn}
	var req hookRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		log.Warn("bad hook request", "err", err)
		fmt.Fprintln(out, "paas: bad hook request")
		out.exit(1)
		return
	}
	ps := h.lookup(req.Token)
	if ps == nil {
		fmt.Fprintln(out, "paas: unknown hook token; push through paasd's SSH gateway")
		out.exit(1)
		return
	}
	ps.hooked.Store(true)
	if err := h.s.receive(ps, req, out); err != nil {
		ps.refuse()
		msg, ok := paas.UserMessage(err)
		if !ok {
			log.Error("push failed", "app", ps.app, "by", ps.user.name, "err", err)
		}
		fmt.Fprintf(out, "paas: %s\n", msg)
		out.exit(1)
		return
	}
	out.exit(0)
}
