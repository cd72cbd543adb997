package gateway

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
