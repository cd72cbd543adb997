package e2e

import (
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"paas/internal/syncbuf"
	"paas/internal/syslogtest"
)

// syslogMsg is one message a drain receiver parsed.
type syslogMsg = syslogtest.Message

// syslogReceiver is a loopback syslog receiver (TCP, octet-counted
// framing) that parses every frame strictly; a malformed one fails the
// test.
type syslogReceiver struct{ *syslogtest.Receiver }

func newSyslogReceiver(t *testing.T) syslogReceiver {
	return syslogReceiver{syslogtest.Listen(t, nil)}
}

func (r syslogReceiver) url() string { return "syslog://" + r.Addr() }

// waitFor polls until a message satisfies match, failing after 30 s.
func (r syslogReceiver) waitFor(what string, match func(syslogMsg) bool) syslogMsg {
	ms := r.WaitFor(what, 30*time.Second, func(ms []syslogMsg) bool { return slices.ContainsFunc(ms, match) })
	return ms[slices.IndexFunc(ms, match)]
}

// has reports whether any message so far satisfies match.
func (r syslogReceiver) has(match func(syslogMsg) bool) bool {
	return slices.ContainsFunc(r.Messages(), match)
}

func served(path string) func(syslogMsg) bool {
	return func(m syslogMsg) bool {
		return m.AppName == "hello" && strings.HasPrefix(m.ProcID, "web.") && m.MsgID == "app" && strings.HasPrefix(m.Text, "served "+path+" ")
	}
}

// TestDrains sends an app's log stream to syslog receivers run by the
// test: the app's lines and the platform's arrive as well-formed RFC 5424
// frames naming the app and the instance; URLs are masked wherever shown;
// a config value never reaches a drain; drains survive a paasd restart,
// drains:remove stops delivery, and apps:destroy forgets them. Exec
// runtime.
func TestDrains(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	dir := s.newRepo("python", "hello")
	requireOK(t, "push", s.push(dir, "paas", "main"))
	s.mustGet("hello", "/", "hello one from web.1")

	a := newSyslogReceiver(t)
	r := s.ssh("drains:add hello " + a.url())
	requireOK(t, "drains:add", r)
	if !strings.HasPrefix(r.stdout, "Added log drain "+a.url()+" to hello (token d.") {
		t.Fatalf("drains:add said %q", r.stdout)
	}
	token := strings.TrimSuffix(strings.TrimPrefix(r.stdout[strings.Index(r.stdout, "(token ")+len("(token "):], ""), ")\n")

	// A drain with secrets in its URL, to a port nothing listens on.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	const pw, qtoken = "drain-password-42", "drain-query-token-42"
	secretURL := "https://alice:" + pw + "@" + deadAddr + "/logs?token=" + qtoken
	maskedURL := "https://alice:***@" + deadAddr + "/logs?token=***"
	r = s.ssh("drains:add hello '" + secretURL + "'")
	requireOK(t, "drains:add with secrets", r)
	if !strings.Contains(r.stdout, maskedURL) {
		t.Fatalf("drains:add said %q", r.stdout)
	}

	t.Run("delivery", func(t *testing.T) {
		s.mustGet("hello", "/drained-1", "hello one")
		m := a.waitFor("app line", served("/drained-1"))
		if m.Hostname != token {
			t.Fatalf("HOSTNAME %q, want the drain token %q", m.Hostname, token)
		}
		a.waitFor("router line", func(m syslogMsg) bool {
			return m.AppName == "hello" && m.ProcID == "router" && m.MsgID == "paas" && strings.Contains(m.Text, "/drained-1")
		})
	})

	t.Run("canary", func(t *testing.T) {
		const canary = "canary-value-7f3a9c"
		requireOK(t, "config:set", s.ssh("config:set hello DRAIN_CANARY="+canary))
		s.mustGet("hello", "/after-config", "hello one")
		a.waitFor("a line of the new release", served("/after-config"))
		a.waitFor("a platform line", func(m syslogMsg) bool { return m.MsgID == "paas" && m.ProcID != "router" })
		var payload strings.Builder
		for _, m := range a.Messages() {
			payload.WriteString(m.Raw)
		}
		if strings.Contains(payload.String(), canary) {
			t.Fatalf("a config value reached the drain:\n%s", payload.String())
		}
	})

	t.Run("list", func(t *testing.T) {
		// The table cuts long URLs and errors to 80 columns; --json has
		// them whole.
		var list []drainEntry
		deadline := time.Now().Add(30 * time.Second)
		for {
			list = drainsJSON(t, s)
			if len(list) == 2 && list[1].State == "failing" && list[1].LastError != nil && strings.Contains(*list[1].LastError, "refused") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the dead drain is not shown failing: %+v", list)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if list[0].URL != a.url() || list[0].State != "up" || list[0].Token != token || list[1].URL != maskedURL {
			t.Fatalf("drains --json: %+v", list)
		}
		r := s.ssh("drains hello")
		requireOK(t, "drains", r)
		if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "#  URL") ||
			!strings.Contains(lines[1], " up ") || !strings.Contains(lines[2], " failing ") {
			t.Fatalf("drains:\n%s", r.stdout)
		}
	})

	t.Run("bad URLs", func(t *testing.T) {
		for url, want := range map[string]string{
			"http://127.0.0.1:1":         "plain http is not supported",
			"syslog://127.0.0.1":         "a port is needed",
			"syslog://127.0.0.1:99999":   "1 to 65535",
			"tcp://127.0.0.1:514":        "the scheme must be",
			"syslog://u:hunter2@h.x:514": "invalid drain URL syslog://u:***@h.x:514",
			"'" + secretURL + "'":        "hello already has the drain " + maskedURL,
		} {
			r := s.ssh("drains:add hello " + url)
			requireFail(t, "drains:add "+url, r, want)
			if strings.Contains(r.stderr, "hunter2") || strings.Contains(r.stderr, pw) {
				t.Fatalf("an error shows a secret: %q", r.stderr)
			}
		}
		requireFail(t, "drains:add for an unknown app", s.ssh("drains:add nope "+a.url()), "app nope not found")
		requireFail(t, "drains:remove of a missing drain", s.ssh("drains:remove hello 7"), "hello has no drain number 7")
		if r := s.ssh("drains hello"); strings.Count(r.stdout, "\n") != 3 {
			t.Fatalf("refused input changed the drains:\n%s", r.stdout)
		}
	})

	outs := []*syncbuf.Buffer{s.out}
	t.Run("restart", func(t *testing.T) {
		s.stop()
		n := s.successor("PAAS_RUNTIME=exec")
		*s = *n
		outs = append(outs, s.out)
		if list := drainsJSON(t, s); len(list) != 2 || list[0].URL != a.url() || list[1].URL != maskedURL || list[0].Token != token {
			t.Fatalf("drains after restart: %+v", list)
		}
		deadline := time.Now().Add(60 * time.Second)
		for code, _, _ := s.get("hello", "/after-restart"); code != 200; code, _, _ = s.get("hello", "/after-restart") {
			if time.Now().After(deadline) {
				t.Fatalf("the app did not serve after the restart")
			}
			time.Sleep(200 * time.Millisecond)
		}
		a.waitFor("a line after the restart", served("/after-restart"))
	})

	t.Run("remove", func(t *testing.T) {
		b := newSyslogReceiver(t)
		requireOK(t, "drains:add b", s.ssh("drains:add hello "+b.url()))
		r := s.ssh("drains:remove hello " + a.url())
		requireOK(t, "drains:remove", r)
		if r.stdout != "Removed log drain "+a.url()+" from hello\n" {
			t.Fatalf("drains:remove said %q", r.stdout)
		}
		// The removed drain's connection is closed; b still receives.
		deadline := time.Now().Add(10 * time.Second)
		for a.Open() > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the removed drain's connection stays open")
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.mustGet("hello", "/after-remove", "hello one")
		b.waitFor("a line at the remaining drain", served("/after-remove"))
		if a.has(served("/after-remove")) {
			t.Fatal("a removed drain still receives lines")
		}
		r = s.ssh("drains:remove hello '" + maskedURL + "'")
		requireOK(t, "drains:remove by masked URL", r)
		if list := drainsJSON(t, s); len(list) != 1 || list[0].URL != b.url() {
			t.Fatalf("drains after removal: %+v", list)
		}
	})

	t.Run("destroy", func(t *testing.T) {
		requireOK(t, "apps:destroy", s.ssh("apps:destroy hello --confirm hello"))
		requireOK(t, "apps:create", s.ssh("apps:create hello"))
		r := s.ssh("drains hello")
		requireOK(t, "drains of a new app", r)
		if r.stdout != "" || !strings.Contains(r.stderr, "no log drains") {
			t.Fatalf("a destroyed app's drains came back:\n%s%s", r.stdout, r.stderr)
		}
	})

	// Neither the drain URL's secrets nor the config value are in
	// paasd's own log.
	for _, o := range outs {
		if out := o.String(); strings.Contains(out, pw) || strings.Contains(out, qtoken) || strings.Contains(out, "canary-value-7f3a9c") || !strings.Contains(out, "drain") {
			t.Fatalf("paasd's log shows a secret:\n%s", out)
		}
	}
}

// drainsJSON lists the drains of hello with drains --json.
func drainsJSON(t *testing.T, s *server) []drainEntry {
	t.Helper()
	r := s.ssh("drains hello --json")
	requireOK(t, "drains --json", r)
	var list []drainEntry
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("drains --json: %v\n%s", err, r.stdout)
	}
	return list
}

// drainEntry is what the drains tests read of a drains --json entry.
type drainEntry struct {
	URL       string  `json:"url"`
	Token     string  `json:"token"`
	State     string  `json:"state"`
	LastError *string `json:"last_error"`
}
