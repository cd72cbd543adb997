package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"paas/internal/syncbuf"
)

// fdCount is how many file descriptors this process has open.
func fdCount(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd to count file descriptors: %v", err)
	}
	return len(entries)
}

// probe is a client TCP connection to the gateway that sends nothing
// unless told to.
type probe struct {
	net.Conn
	r        *bufio.Reader
	admitted bool // the server sent its version line, rather than closing
	opened   time.Time
}

// dialProbe connects from the loopback address from and waits for the
// server's first word: its SSH version line, or a close.
func (e *env) dialProbe(from string) *probe {
	e.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	opened := time.Now()
	c, err := d.Dial("tcp", "127.0.0.1:"+e.port)
	if err != nil {
		e.t.Fatalf("dialing from %s: %v", from, err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	p := &probe{Conn: c, r: bufio.NewReader(c), opened: opened}
	line, err := p.r.ReadString('\n')
	switch {
	case err == nil && strings.HasPrefix(line, "SSH-2.0-"):
		p.admitted = true
	case errors.Is(err, io.EOF) && line == "":
	default:
		e.t.Fatalf("connection from %s: read %q, %v", from, line, err)
	}
	return p
}

// closedByServer waits (at most 30 s) for the server to close p and
// returns how long after dialing that was.
func (p *probe) closedByServer(t *testing.T) time.Duration {
	t.Helper()
	p.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, p.r)
	if err != nil {
		t.Fatalf("waiting for the server to close the connection: %v", err)
	}
	return time.Since(p.opened)
}

// waitUntil polls cond until it holds, failing after 10 s: for state the
// server reaches after a client's close, which nothing signals.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
	}
}

// TestUnauthenticatedConnectionCaps floods the gateway with silent
// connections from a few loopback addresses: past the cap per source they
// are closed at once, past the overall cap a newcomer from a quieter
// source takes the place of the oldest of the busiest, and a real `ssh
// apps` from another address succeeds meanwhile.
func TestUnauthenticatedConnectionCaps(t *testing.T) {
	e := startServerWith(t, func(c *Config) {
		c.Limits = ConnLimits{HandshakeTimeout: time.Minute, MaxUnauthenticated: 30, MaxUnauthenticatedPerSource: 10}
	})
	baseline := fdCount(t)

	var held []*probe
	flood := map[string][]*probe{}
	for _, from := range []string{"127.0.0.1", "127.0.0.3", "127.0.0.4"} {
		n := 10
		if from == "127.0.0.1" {
			n = 200
		}
		for i := range n {
			p := e.dialProbe(from)
			if p.admitted != (i < 10) {
				t.Fatalf("connection %d from %s: admitted %v", i+1, from, p.admitted)
			}
			if p.admitted {
				held = append(held, p)
				flood[from] = append(flood[from], p)
			} else {
				p.Close()
			}
		}
	}
	if w, _ := e.s.guard.counts(); w != 30 {
		t.Fatalf("%d connections wait to authenticate, want 30", w)
	}
	// The overall cap is reached: one more from a source at its cap is
	// refused; one from a new source takes the oldest one's place.
	refused := e.dialProbe("127.0.0.4")
	refused.Close()
	if refused.admitted {
		t.Fatal("an 11th connection from 127.0.0.4 was admitted")
	}
	newcomer := e.dialProbe("127.0.0.5")
	if !newcomer.admitted {
		t.Fatal("a connection from a new source was refused at the overall cap")
	}
	held = append(held, newcomer)
	if d := flood["127.0.0.1"][0].closedByServer(t); d > 30*time.Second {
		t.Fatalf("the oldest connection was closed after %v", d)
	}

	// A real client from another address logs in and runs a command.
	st, out, errs := e.ssh("", []string{"-o", "BindAddress=127.0.0.2"}, "whoami")
	if st != 0 || errs != "" {
		t.Fatalf("ssh whoami during the flood: status %d, stdout %q, stderr %q", st, out, errs)
	}
	// It too took a place: that of the oldest of the busiest sources.
	flood["127.0.0.3"][0].closedByServer(t)

	logged := e.log.String()
	for kind, want := range map[string]int{"per-source": 1, "evicted": 1} {
		if n := strings.Count(logged, "kind="+kind+" "); n != want {
			t.Errorf("%d log lines of kind %s, want %d (notices are rate-limited):\n%s", n, kind, want, logged)
		}
	}

	for _, p := range held {
		p.Close()
	}
	waitUntil(t, "the server forgets closed connections", func() bool {
		w, a := e.s.guard.counts()
		return w == 0 && a == 0
	})
	waitUntil(t, "the file descriptor count returns to its baseline", func() bool { return fdCount(t) <= baseline })
}

// TestHandshakeDeadline checks that connections that do not authenticate
// in time are closed at the deadline, whether they send nothing, stop
// after their version line, or stop during authentication.
func TestHandshakeDeadline(t *testing.T) {
	const deadline = time.Second
	e := startServerWith(t, func(c *Config) {
		c.Limits = ConnLimits{HandshakeTimeout: deadline}
	})
	baseline := fdCount(t)

	var probes []*probe
	for _, from := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.3", "127.0.0.3"} {
		probes = append(probes, e.dialProbe(from))
	}
	// Two send their version line, then nothing.
	for _, p := range probes[3:] {
		if _, err := io.WriteString(p, "SSH-2.0-stalled\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	// One does the key exchange, then never finishes authenticating: its
	// key callback waits until the server has closed the connection.
	stalled := make(chan error, 1)
	closedAt := make(chan time.Time, 1)
	// Taken before the dial: the server's clock starts at its accept,
	// which may come before this goroutine runs again.
	authStarted := time.Now()
	go func() {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}
		c, err := d.Dial("tcp", "127.0.0.1:"+e.port)
		if err != nil {
			stalled <- err
			return
		}
		ec := &eofConn{Conn: c, eof: make(chan struct{})}
		defer ec.Close()
		_, _, _, err = gossh.NewClientConn(ec, "paas", &gossh.ClientConfig{
			User: "paas",
			Auth: []gossh.AuthMethod{gossh.PublicKeysCallback(func() ([]gossh.Signer, error) {
				<-ec.eof
				closedAt <- time.Now()
				return nil, errors.New("no key")
			})},
			HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		})
		stalled <- err
	}()

	for i, p := range probes {
		if !p.admitted {
			t.Fatalf("probe %d was refused", i)
		}
		if d := p.closedByServer(t); d < deadline {
			t.Errorf("probe %d closed after %v, before the %v deadline", i, d, deadline)
		}
		p.Close()
	}
	if err := <-stalled; err == nil {
		t.Fatal("a client that never authenticated got a connection")
	}
	if d := (<-closedAt).Sub(authStarted); d < deadline {
		t.Errorf("the client stalled in authentication was closed after %v, before the deadline", d)
	}
	if w, a := e.s.guard.counts(); w != 0 || a != 0 {
		t.Errorf("after the deadline %d connections wait and %d are authenticated", w, a)
	}
	if n := strings.Count(e.log.String(), "kind=deadline "); n != 1 {
		t.Errorf("%d deadline notices, want 1 (rate-limited):\n%s", n, e.log.String())
	}
	waitUntil(t, "the file descriptor count returns to its baseline", func() bool { return fdCount(t) <= baseline })
}

// client logs in as the holder of key, from a loopback address.
func (e *env) client(key, from string) *gossh.Client {
	e.t.Helper()
	pem, err := os.ReadFile(key)
	if err != nil {
		e.t.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		e.t.Fatal(err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", "127.0.0.1:"+e.port)
	if err != nil {
		e.t.Fatal(err)
	}
	cc, chans, reqs, err := gossh.NewClientConn(c, "127.0.0.1:"+e.port, &gossh.ClientConfig{
		User:            "paas",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		e.t.Fatalf("logging in: %v", err)
	}
	cl := gossh.NewClient(cc, chans, reqs)
	e.t.Cleanup(func() { cl.Close() })
	return cl
}

// closedWithin waits for the server to close cl's connection, failing
// after limit.
func closedWithin(t *testing.T, cl *gossh.Client, limit time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { cl.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("the connection was not closed within %v", limit)
	}
}

// TestIdleTimeout checks that a connection running no command is closed
// after the idle timeout, whether its command ended or it never ran one,
// while one running a quiet `logs -t` stays until that ends.
func TestIdleTimeout(t *testing.T) {
	const idle = time.Second
	e := startServerWith(t, func(c *Config) { c.Limits = ConnLimits{IdleTimeout: idle} })
	if _, err := e.f.CreateApp(context.Background(), "web-app", "alice"); err != nil {
		t.Fatal(err)
	}
	follow := make(chan string, 1)
	e.f.mu.Lock()
	e.f.follow = follow
	e.f.mu.Unlock()

	// B follows the logs; nothing is written for a while.
	b := e.client(e.key, "127.0.0.1")
	sessB, err := b.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	outB, err := sessB.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sessB.Start("logs web-app -t"); err != nil {
		t.Fatal(err)
	}
	linesB := bufio.NewReader(outB)
	if line, err := linesB.ReadString('\n'); err != nil || line != "app[web.1]: hello\n" {
		t.Fatalf("logs -t: %q, %v", line, err)
	}

	// A runs a command, then keeps the connection open with nothing running.
	a := e.client(e.key, "127.0.0.1")
	sessA, err := a.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	// The server's idle clock starts once the command has ended there,
	// which is after this instant and before the client reads the end.
	sent := time.Now()
	if out, err := sessA.Output("apps"); err != nil {
		t.Fatalf("apps: %v %q", err, out)
	}
	closedWithin(t, a, idle+20*time.Second)
	if d := time.Since(sent); d < idle {
		t.Errorf("the idle connection was closed %v after its command was sent, before the %v idle timeout", d, idle)
	}

	// The real client with no command at all (ssh -N) is closed too.
	start := time.Now()
	if st, _, _ := e.ssh("", []string{"-N"}); st != 255 {
		t.Errorf("ssh -N: status %d, want 255 (connection closed)", st)
	}
	if d := time.Since(start); d < idle {
		t.Errorf("ssh -N was closed after %v, before the idle timeout", d)
	}

	// B has been quiet for longer than the idle timeout, and still follows.
	follow <- "app[web.1]: still here"
	if line, err := linesB.ReadString('\n'); err != nil || line != "app[web.1]: still here\n" {
		t.Fatalf("logs -t after a quiet spell: %q, %v", line, err)
	}
	close(follow)
	if err := sessB.Wait(); err != nil {
		t.Fatalf("logs -t ended with %v", err)
	}
	// With its command ended, B is idle in turn.
	closedWithin(t, b, idle+20*time.Second)
	if n := strings.Count(e.log.String(), "closing idle ssh connection"); n != 3 {
		t.Errorf("%d idle closes logged, want 3:\n%s", n, e.log.String())
	}
}

// TestShutdownClosesWaitingConnections checks that Shutdown does not wait
// for connections that never authenticate.
func TestShutdownClosesWaitingConnections(t *testing.T) {
	e := startServerWith(t, func(c *Config) { c.Limits = ConnLimits{HandshakeTimeout: time.Hour} })
	p := e.dialProbe("127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	p.closedByServer(t)
}

// eofConn closes eof when a read fails: the server closed the connection.
type eofConn struct {
	net.Conn
	once sync.Once
	eof  chan struct{}
}

func (c *eofConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.once.Do(func() { close(c.eof) })
	}
	return n, err
}

// TestConnGuardOverallCap admits real TCP connections from several
// loopback sources to a guard with small caps: at the overall cap a
// newcomer from one of the busiest sources is refused, and one from a
// quieter source takes the place of the busiest's oldest.
func TestConnGuardOverallCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var log syncbuf.Buffer
	g := newConnGuard(ConnLimits{HandshakeTimeout: time.Hour, MaxUnauthenticated: 3, MaxUnauthenticatedPerSource: 2}, slog.New(slog.NewTextHandler(&log, nil)))
	defer g.close()
	// connect returns the client side and the guard's verdict on the
	// server side.
	connect := func(from string) (net.Conn, *guardedConn) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		gc := g.admit(sc)
		if gc == nil {
			sc.Close()
		}
		return c, gc
	}
	first, gc := connect("127.0.0.1")
	if gc == nil {
		t.Fatal("first connection refused")
	}
	for _, from := range []string{"127.0.0.3", "127.0.0.4"} {
		if _, gc := connect(from); gc == nil {
			t.Fatalf("connection from %s refused below the caps", from)
		}
	}
	// Full, one each: a second from 127.0.0.1 would make it the busiest.
	if _, gc := connect("127.0.0.1"); gc != nil {
		t.Fatal("a newcomer from one of the busiest sources was admitted at the overall cap")
	}
	if w, _ := g.counts(); w != 3 {
		t.Fatalf("%d waiting, want 3", w)
	}
	// A newcomer from a new source evicts the oldest: the first.
	if _, gc := connect("127.0.0.5"); gc == nil {
		t.Fatal("a newcomer from a new source was refused at the overall cap")
	}
	first.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := first.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("the oldest connection after its eviction: read %d, %v; want EOF", n, err)
	}
	if w, _ := g.counts(); w != 3 {
		t.Fatalf("%d waiting after the eviction, want 3", w)
	}
	for _, kind := range []string{"overall", "evicted"} {
		if n := strings.Count(log.String(), "kind="+kind+" "); n != 1 {
			t.Errorf("%d %s notices, want 1:\n%s", n, kind, log.String())
		}
	}
}

func TestSourceOf(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.7:22", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:22", "192.0.2.7/32"},
		{"[2001:db8:1:2:3:4:5:6]:22", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:22", "2001:db8:1:2::/64"},
	} {
		a, err := net.ResolveTCPAddr("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := sourceOf(a).String(); got != c.want {
			t.Errorf("sourceOf(%s) = %s, want %s", c.addr, got, c.want)
		}
	}
}
