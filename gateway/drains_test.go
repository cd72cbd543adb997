package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"paas/drains"
)

// TestDrainCommands walks drains, drains:add and drains:remove: URLs are
// validated with one-line errors, secrets never shown, drains removed by
// URL, masked URL or number.
func TestDrainCommands(t *testing.T) {
	s, f := newTestServer(t)
	f.CreateApp(context.Background(), "blog", "alice")
	secret := "https://alice:hunter2@logs.example.com/in?token=tok3n"
	masked := "https://alice:***@logs.example.com/in?token=***"

	steps := []struct {
		args   []string
		status int
		stdout string
		stderr string
	}{
		{[]string{"drains", "web-app"}, 0, "", "web-app has no log drains; add one with drains:add web-app URL\n"},
		{[]string{"drains:add", "web-app", "syslog://logs.example.com:514"}, 0, "Added log drain syslog://logs.example.com:514 to web-app (token d.token-1)\n", ""},
		{[]string{"drains:add", "web-app", secret}, 0, "Added log drain " + masked + " to web-app (token d.token-2)\n", ""},
		{[]string{"drains:add", "web-app", secret}, 1, "", "web-app already has the drain " + masked + "\n"},
		{[]string{"drains:add", "web-app", "http://logs.example.com"}, 1, "", "plain http is not supported"},
		{[]string{"drains:add", "web-app", "syslog://logs.example.com"}, 1, "", "a port is needed"},
		{[]string{"drains:add", "web-app", "syslog://u:hunter2@logs.example.com:514"}, 1, "", "invalid drain URL syslog://u:***@logs.example.com:514: user info is only allowed on https drains\n"},
		{[]string{"drains:add", "web-app"}, 1, "", "usage: drains:add APP URL\n"},
		{[]string{"drains:add", "web-app", secret, "x"}, 1, "", "usage: drains:add APP URL\n"},
		{[]string{"drains:add", "nope", secret}, 1, "", "app nope not found\n"},
		{[]string{"drains:remove", "web-app", "https://alice:wrong@logs.example.com/in?token=nothunter2"}, 1, "", "web-app has no drain https://alice:***@logs.example.com/in?token=***\n"},
		{[]string{"drains:remove", "web-app"}, 1, "", "usage: drains:remove APP URL|N\n"},
		{[]string{"drains", "web-app", "x"}, 1, "", "usage: drains APP\n"},
	}
	for _, st := range steps {
		r := run(s, st.args...)
		if r.status != st.status || r.stdout != st.stdout || !strings.Contains(r.stderr, st.stderr) || strings.Count(r.stderr, "\n") > 1 {
			t.Fatalf("%q: status %d stdout %q stderr %q; want %d %q %q", st.args, r.status, r.stdout, r.stderr, st.status, st.stdout, st.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "hunter2") || strings.Contains(r.stdout+r.stderr, "tok3n") {
			t.Fatalf("%q shows a secret: %q %q", st.args, r.stdout, r.stderr)
		}
	}

	// The listing shows state, counts, token and the last error.
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	f.setDrainStatus("web-app", 1, func(d *drains.Status) {
		d.State, d.Buffered, d.Dropped, d.Sent = drains.StateFailing, 10000, 42, 7
		d.LastError, d.LastErrorAt = "the server answered 500 Internal Server Error", at
	})
	// Cut to 80 columns: drains --json has the URLs, the tokens and the
	// errors whole.
	want := `#  URL                  STATE       SENT  DROPPED  BUFFERED  LAST ERROR
1  syslog://logs.exam…  connecting  0     0        0         -
2  https://alice:***@…  failing     7     42       10000     3m ago: the server…
`
	if r := run(s, "drains", "web-app"); r.status != 0 || r.stdout != want {
		t.Fatalf("drains:\n%s\nwant\n%s", r.stdout, want)
	}
	r := run(s, "drains", "web-app", "--json")
	for _, v := range []string{`"url": "syslog://logs.example.com:514"`, `"url": "` + masked + `"`, `"token": "d.token-2"`, `"last_error": "the server answered 500 Internal Server Error"`, `"last_error_at": "2026-11-26T10:00:00Z"`} {
		if !strings.Contains(r.stdout, v) {
			t.Errorf("drains --json lacks %s:\n%s", v, r.stdout)
		}
	}

	// Removed by masked URL, then by number.
	if r := run(s, "drains:remove", "web-app", masked); r.status != 0 || r.stdout != "Removed log drain "+masked+" from web-app\n" {
		t.Fatalf("remove by masked URL: %+v", r)
	}
	if r := run(s, "drains:remove", "web-app", "2"); r.status != 1 || !strings.HasSuffix(r.stderr, "web-app has no drain number 2 (it has 1)\n") {
		t.Fatalf("remove a missing number: %+v", r)
	}
	if r := run(s, "drains:remove", "web-app", "1"); r.status != 0 || r.stdout != "Removed log drain syslog://logs.example.com:514 from web-app\n" {
		t.Fatalf("remove by number: %+v", r)
	}
	if r := run(s, "drains", "web-app"); r.stdout != "" || !strings.Contains(r.stderr, "no log drains") {
		t.Fatalf("after removing all: %+v", r)
	}
	// help lists the three commands.
	if r := run(s, "help"); !strings.Contains(r.stdout, "drains:add APP URL") || !strings.Contains(r.stdout, "drains:remove APP URL|N") {
		t.Fatalf("help:\n%s", r.stdout)
	}
}
