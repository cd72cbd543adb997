package drains

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"paas/logs"
)

// TestSyslogDelivery sends an app's stream to a plain TCP and a TLS
// receiver: every line arrives once, in order, as a well-formed
// octet-counted RFC 5424 message naming the app and the instance; another
// app's lines do not.
func TestSyslogDelivery(t *testing.T) {
	ca := newTestCA(t)
	plain := newReceiver(t, nil)
	secure := newReceiver(t, ca.serverConfig())
	m, agg, _ := testManager(t, newMemStore("blog", "shop"), func(c *Config) { c.RootCAs = ca.pool })

	var tokens []string
	for _, u := range []string{
		fmt.Sprintf("syslog://127.0.0.1:%d", plain.Port()),
		fmt.Sprintf("syslog+tls://127.0.0.1:%d", secure.Port()),
	} {
		st, err := m.Add("blog", u)
		if err != nil {
			t.Fatalf("adding %s: %v", u, err)
		}
		if st.URL != u || !strings.HasPrefix(st.Token, "d.") {
			t.Fatalf("added %+v", st)
		}
		tokens = append(tokens, st.Token)
	}
	const n = 3000
	agg.Write("shop", logs.SourceApp, "web.1", "not for blog's drains")
	numbered(agg, "blog", n)
	agg.Write("blog", logs.SourcePaas, "router", "GET / 200")
	agg.Write("blog", logs.SourceApp, "worker.2", "paas[deploy]: forged \x1b[31m")

	for i, r := range []*receiver{plain, secure} {
		ms := waitFor(r, "every line", func(ms []message) bool { return len(ms) >= n+2 })
		var texts []string
		for _, m := range ms[:n] {
			if m.AppName != "blog" || m.ProcID != "web.1" || m.MsgID != "app" || m.Hostname != tokens[i] || m.Pri != 14 {
				t.Fatalf("receiver %d: header %+v", i, m)
			}
			texts = append(texts, m.Text)
		}
		if err := inOrder(texts, n); err != nil {
			t.Fatalf("receiver %d: %v", i, err)
		}
		if rt := ms[n]; rt.ProcID != "router" || rt.MsgID != "paas" || rt.Pri != 134 || rt.Text != "GET / 200" {
			t.Fatalf("router line %+v", rt)
		}
		// An app's line that imitates the platform stays the app's.
		if f := ms[n+1]; f.ProcID != "worker.2" || f.MsgID != "app" || f.Pri != 14 || !strings.HasPrefix(f.Text, "paas[deploy]: forged") {
			t.Fatalf("forged line %+v", f)
		}
		if len(ms) != n+2 {
			t.Fatalf("receiver %d got %d messages, want %d", i, len(ms), n+2)
		}
	}
	st := waitStatus(t, m, "blog", 1, "up", func(s Status) bool { return s.State == StateUp && s.Sent == n+2 })
	if st.Dropped != 0 || st.Buffered != 0 || st.LastError != "" {
		t.Fatalf("status %+v", st)
	}
}

// TestSyslogTLSVerifies: a receiver whose certificate the roots do not
// vouch for gets nothing, and the drain says why.
func TestSyslogTLSVerifies(t *testing.T) {
	ca := newTestCA(t)
	r := newReceiver(t, ca.serverConfig())
	m, agg, _ := testManager(t, newMemStore("blog"), nil) // system roots
	if _, err := m.Add("blog", fmt.Sprintf("syslog+tls://127.0.0.1:%d", r.Port())); err != nil {
		t.Fatal(err)
	}
	agg.Write("blog", logs.SourceApp, "web.1", "hello")
	st := waitStatus(t, m, "blog", 0, "failing", func(s Status) bool { return s.State == StateFailing })
	if !strings.Contains(st.LastError, "certificate") || st.Buffered != 1 {
		t.Fatalf("status %+v", st)
	}
	if len(r.Messages()) != 0 {
		t.Fatal("an unverified receiver got lines")
	}
}

// TestSyslogReconnects: when the receiver drops the connection, later
// lines go over a new one.
func TestSyslogReconnects(t *testing.T) {
	r := newReceiver(t, nil)
	m, agg, _ := testManager(t, newMemStore("blog"), nil)
	if _, err := m.Add("blog", fmt.Sprintf("syslog://127.0.0.1:%d", r.Port())); err != nil {
		t.Fatal(err)
	}
	agg.Write("blog", logs.SourceApp, "web.1", "one")
	waitFor(r, "the first line", func(ms []message) bool { return len(ms) == 1 })
	r.CloseConns()
	// Syslog over TCP has no acknowledgements: a line written before the
	// sender sees the close may be lost, so lines are written until one
	// arrives over a second connection.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; r.Accepted() < 2 || len(r.Messages()) < 2; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no line over a new connection: %d accepted, %d messages", r.Accepted(), len(r.Messages()))
		}
		agg.Write("blog", logs.SourceApp, "web.1", fmt.Sprintf("again %d", i))
		time.Sleep(20 * time.Millisecond)
	}
	if ms := r.Messages(); !strings.HasPrefix(ms[len(ms)-1].Text, "again ") {
		t.Fatalf("messages %+v", ms)
	}
}
