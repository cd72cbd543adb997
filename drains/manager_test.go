package drains

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"paas"
	"paas/internal/syslogtest"
	"paas/logs"
)

// refusedPort returns a loopback port nothing listens on, held so for
// the rest of the test.
func refusedPort(t *testing.T) int {
	port, _ := reservePort(t)
	return port
}

// TestDeadDrain: a drain whose receiver refuses connections fills its
// buffer and counts what it drops; the app's writes, another drain and a
// reader are not held up, and every line is accounted for.
func TestDeadDrain(t *testing.T) {
	live := newReceiver(t, nil)
	const bufLines, batch = 1000, 10
	var counted atomic.Uint64 // what Config.Dropped was told
	m, agg, _ := testManager(t, newMemStore("blog"), func(c *Config) {
		c.BufferLines = bufLines
		c.BatchLines = batch
		c.Dropped = func(n uint64) { counted.Add(n) }
	})
	if _, err := m.Add("blog", fmt.Sprintf("syslog://127.0.0.1:%d", refusedPort(t))); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add("blog", fmt.Sprintf("syslog://127.0.0.1:%d", live.Port())); err != nil {
		t.Fatal(err)
	}
	tail, cancel, err := agg.Follow("blog", logs.Query{}, func(logs.Line) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	// Two bursts, each within a buffer: the live drain keeps up, the dead
	// one overflows during the second.
	const n = 2 * bufLines
	for burst := range 2 {
		wrote := make(chan struct{})
		go func() {
			for i := burst * bufLines; i < (burst+1)*bufLines; i++ {
				agg.Write("blog", logs.SourceApp, "web.1", fmt.Sprintf("line %d", i))
			}
			close(wrote)
		}()
		select {
		case <-wrote:
		case <-time.After(10 * time.Second):
			t.Fatal("writing to an app with a dead drain blocked")
		}
		waitFor(live, "the burst at the live drain", func(ms []message) bool { return len(ms) >= (burst+1)*bufLines })
	}
	var texts []string
	for _, m := range live.Messages() {
		texts = append(texts, m.Text)
	}
	if err := inOrder(texts, n); err != nil {
		t.Fatalf("live drain: %v", err)
	}
	for i := range n {
		if l := <-tail; l.Text != fmt.Sprintf("line %d", i) {
			t.Fatalf("reader line %d: %q", i, l.Text)
		}
	}
	dead := waitStatus(t, m, "blog", 0, "failing", func(s Status) bool { return s.State == StateFailing && s.LastError != "" })
	if dead.Sent != 0 || dead.Dropped == 0 || dead.Dropped+uint64(dead.Buffered) != n || dead.Buffered > bufLines+batch {
		t.Fatalf("dead drain status %+v: every line is buffered or counted as dropped", dead)
	}
	if !strings.Contains(dead.LastError, "refused") {
		t.Fatalf("last error %q", dead.LastError)
	}
	// More lines raise the count; the buffer stays bounded.
	numbered(agg, "blog", 50)
	// Config.Dropped is told of every line the status counts.
	after := waitStatus(t, m, "blog", 0, "dropping more", func(s Status) bool {
		return s.Dropped == dead.Dropped+50 && counted.Load() == s.Dropped
	})
	if after.Buffered != dead.Buffered {
		t.Fatalf("buffered %d then %d", dead.Buffered, after.Buffered)
	}
}

// TestDropMarker: lines lost while a receiver was down are announced to
// it by a platform line when it comes back.
func TestDropMarker(t *testing.T) {
	// The port is held, refusing connections, until the receiver listens
	// on it: nothing else can take it meanwhile.
	port, release := reservePort(t)
	m, agg, _ := testManager(t, newMemStore("blog"), func(c *Config) {
		c.BufferLines = 10
		c.BatchLines = 5
	})
	if _, err := m.Add("blog", fmt.Sprintf("syslog://127.0.0.1:%d", port)); err != nil {
		t.Fatal(err)
	}
	numbered(agg, "blog", 100)
	st := waitStatus(t, m, "blog", 0, "failing", func(s Status) bool { return s.State == StateFailing })
	ln, err := reusePortConfig.Listen(t.Context(), "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	release()
	r := syslogtest.Serve(t, ln)
	// Once delivered, what was buffered arrives with one marker before
	// each gap, whose counts add up to the drop count.
	waitStatus(t, m, "blog", 0, "delivered", func(s Status) bool { return s.Buffered == 0 && s.State == StateUp })
	// Sent is not yet received: wait for the newest line at the receiver.
	got := waitFor(r, "line 99", func(ms []message) bool { return len(ms) > 0 && ms[len(ms)-1].Text == "line 99" })
	var dropped uint64
	var texts []string
	for _, msg := range got {
		if msg.ProcID != "logs" {
			texts = append(texts, msg.Text)
			continue
		}
		var n uint64
		if _, err := fmt.Sscanf(msg.Text, "%d lines dropped for this drain (its buffer was full)", &n); err != nil || msg.MsgID != "paas" {
			t.Fatalf("marker %+v", msg)
		}
		dropped += n
	}
	if dropped != st.Dropped || dropped == 0 || uint64(len(texts))+dropped != 100 {
		t.Fatalf("%d lines and markers for %d; status said %d dropped", len(texts), dropped, st.Dropped)
	}
}

// TestManage covers add, list, remove (by number, URL or masked URL),
// limits, app removal and restoring stored drains.
func TestManage(t *testing.T) {
	st := newMemStore("blog", "shop")
	m, agg, _ := testManager(t, st, func(c *Config) { c.MaxPerApp = 3 })
	var pe *paas.Error
	for _, u := range []string{"syslog://a.example:514", "https://u:pw123@b.example/x?token=abc", "https://c.example/in"} {
		if _, err := m.Add("blog", u); err != nil {
			t.Fatalf("adding %s: %v", u, err)
		}
	}
	if _, err := m.Add("blog", "syslog://d.example:514"); !errors.As(err, &pe) || !strings.Contains(pe.Msg, "already has 3 drains") {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := m.Add("shop", "https://u:pw123@b.example/x?token=abc"); err != nil {
		t.Fatalf("the same URL on another app: %v", err)
	}
	if _, err := m.Add("blog", "https://u:pw123@b.example/x?token=abc"); !errors.As(err, &pe) || strings.Contains(pe.Msg, "pw123") || !strings.Contains(pe.Msg, "u:***@b.example") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := m.Add("nope", "syslog://a.example:514"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
	if _, err := m.Add("blog", "ftp://u:topsecret@x.example"); !errors.As(err, &pe) || strings.Contains(pe.Msg, "topsecret") {
		t.Fatalf("bad URL: %v", err)
	}
	if n := len(m.List("nope")); n != 0 {
		t.Fatalf("unknown app lists %d drains", n)
	}

	urls := func(app string) string {
		var out []string
		for _, s := range m.List(app) {
			out = append(out, s.URL)
		}
		return strings.Join(out, " ")
	}
	if got := urls("blog"); got != "syslog://a.example:514 https://u:***@b.example/x?token=*** https://c.example/in" {
		t.Fatalf("list: %s", got)
	}
	for _, bad := range []string{"0", "4", "syslog://z.example:1", "https://u:wrong@b.example/x?token=abc"} {
		if _, err := m.Remove("blog", bad); !errors.As(err, &pe) || strings.Contains(pe.Msg, "wrong") {
			t.Fatalf("removing %q: %v", bad, err)
		}
	}
	if got, err := m.Remove("blog", "https://u:***@b.example/x?token=***"); err != nil || got != "https://u:***@b.example/x?token=***" {
		t.Fatalf("removing by the masked URL: %q %v", got, err)
	}
	if got, err := m.Remove("blog", "2"); err != nil || got != "https://c.example/in" {
		t.Fatalf("removing by number: %q %v", got, err)
	}
	if got, err := m.Remove("blog", "syslog://a.example:514"); err != nil || got != "syslog://a.example:514" {
		t.Fatalf("removing by URL: %q %v", got, err)
	}
	if recs, _ := st.AllDrains(); len(recs) != 1 || recs[0].App != "shop" {
		t.Fatalf("stored: %+v", recs)
	}

	// Stored drains come back in a new manager, and keep their token.
	r := newReceiver(t, nil)
	added, err := m.Add("blog", fmt.Sprintf("syslog://127.0.0.1:%d", r.Port()))
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	m2, agg2, _ := testManager(t, st, nil)
	if got := urls("shop"); got != "" {
		t.Fatalf("a closed manager lists %s", got)
	}
	_ = agg
	agg2.Write("blog", logs.SourceApp, "web.1", "after the restart")
	ms := waitFor(r, "a line from the restored drain", func(ms []message) bool { return len(ms) == 1 })
	if ms[0].Text != "after the restart" || ms[0].Hostname != added.Token {
		t.Fatalf("restored drain sent %+v", ms[0])
	}

	// Removing the app stops its drains and forgets them.
	if err := m2.RemoveApp("blog"); err != nil {
		t.Fatal(err)
	}
	if n := len(m2.List("blog")); n != 0 {
		t.Fatalf("%d drains after RemoveApp", n)
	}
	agg2.Write("blog", logs.SourceApp, "web.1", "after removal")
	agg2.Write("shop", logs.SourceApp, "web.1", "shop line")
	if recs, _ := st.AllDrains(); len(recs) != 1 || recs[0].App != "shop" {
		t.Fatalf("stored after RemoveApp: %+v", recs)
	}
	// The shop drain (to a host that does not resolve) is still there.
	if got := m2.List("shop"); len(got) != 1 {
		t.Fatalf("shop drains %+v", got)
	}
	if n := len(r.Messages()); n != 1 {
		t.Fatalf("%d messages after RemoveApp", n)
	}
}

// TestStalledReceiver: a receiver that accepts but never reads fills the
// connection, then the drain's buffer; the app's writes go on, the drops
// are counted, and removing the drain does not wait for the stalled
// write.
func TestStalledReceiver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	})
	m, agg, _ := testManager(t, newMemStore("blog"), func(c *Config) { c.BufferLines = 1000 })
	if _, err := m.Add("blog", fmt.Sprintf("syslog://%s", ln.Addr())); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("x", 1000)
	const n = 30000 // 30 MB: more than the socket buffers hold
	wrote := make(chan struct{})
	go func() {
		for range n {
			agg.Write("blog", logs.SourceApp, "web.1", text)
		}
		close(wrote)
	}()
	select {
	case <-wrote:
	case <-time.After(20 * time.Second):
		t.Fatal("writing to an app with a stalled drain blocked")
	}
	st := waitStatus(t, m, "blog", 0, "dropping", func(s Status) bool { return s.Dropped > 0 })
	if st.Dropped+st.Sent+uint64(st.Buffered) != n {
		t.Fatalf("status %+v: lines unaccounted for", st)
	}
	removed := make(chan error, 1)
	go func() {
		_, err := m.Remove("blog", "1")
		removed <- err
	}()
	select {
	case err := <-removed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("removing a stalled drain hangs")
	}
}

// reusePortConfig listens with SO_REUSEPORT, so that it can bind a port
// reservePort holds.
var reusePortConfig = net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}}

// reservePort binds a loopback port without listening on it: connections
// to it are refused, and no other socket can bind it but one made with
// reusePortConfig. release frees it.
func reservePort(t *testing.T) (port int, release func()) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { syscall.Close(fd) }) }
	t.Cleanup(release)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port, release
}
