package gateway

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// fakeTokens mints fixed URLs and remembers for whom.
type fakeTokens struct{ asked []string }

func (f *fakeTokens) LoginURL(user, fingerprint string) (string, error) {
	f.asked = append(f.asked, user+" "+fingerprint)
	return "https://dashboard.example.test/login?token=t" + user, nil
}

// TestDashboardURL: dashboard:url prints a login URL minted for the
// session's user and key; without a dashboard it says so.
func TestDashboardURL(t *testing.T) {
	s, _ := newTestServer(t)
	runKey := func(args ...string) result {
		var out, errb bytes.Buffer
		st := s.dispatch(&request{ctx: context.Background(), by: "bob", user: user{name: "bob"}, key: "SHA256:bobkey", args: args, stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
		return result{st, out.String(), errb.String()}
	}
	if r := runKey("dashboard:url"); r.status == 0 || !strings.Contains(r.stderr, "this server has no dashboard") {
		t.Errorf("no dashboard: %+v", r)
	}
	tokens := &fakeTokens{}
	s.cfg.Dashboard = tokens
	r := runKey("dashboard:url")
	if r.status != 0 || r.stdout != "https://dashboard.example.test/login?token=tbob\n" {
		t.Errorf("dashboard:url: %+v", r)
	}
	if len(tokens.asked) != 1 || tokens.asked[0] != "bob SHA256:bobkey" {
		t.Errorf("minted for %v", tokens.asked)
	}
	if r := runKey("dashboard:url", "extra"); r.status == 0 || !strings.Contains(r.stderr, "usage: dashboard:url") {
		t.Errorf("extra argument: %+v", r)
	}
}

var _ DashboardTokens = (*fakeTokens)(nil)

func TestKeyExpired(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		opts []string
		want bool
	}{
		{nil, false},
		{[]string{`from="10.0.0.0/8"`}, false},
		{[]string{`expiry-time="20260501Z"`}, true},
		{[]string{`expiry-time="20260502Z"`}, false},
		{[]string{`unknown-option`}, true},
	} {
		if got := KeyExpired(tc.opts, now); got != tc.want {
			t.Errorf("%q: %v", tc.opts, got)
		}
	}
}
