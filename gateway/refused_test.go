package gateway

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"paas/internal/syncbuf"
)

// TestRefusedLoginsAreRateLimited checks that refused logins are logged
// with their fingerprints, refusedBudget a window, and that the next line
// logged counts those that were not.
func TestRefusedLoginsAreRateLimited(t *testing.T) {
	var buf syncbuf.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &refusedLog{log: slog.New(slog.NewTextHandler(&buf, nil)), now: func() time.Time { return now }}
	for i := range refusedBudget + 5 {
		r.note("192.0.2.1:2222", []string{fmt.Sprintf("SHA256:key%d", i)})
	}
	r.note("192.0.2.1:2222", nil) // nothing offered: nothing to log
	if n := strings.Count(buf.String(), "refused a login"); n != refusedBudget {
		t.Fatalf("%d lines logged in one window, want %d:\n%s", n, refusedBudget, buf.String())
	}
	if !strings.Contains(buf.String(), "fingerprints=SHA256:key0 ") {
		t.Fatalf("the first refusal's fingerprint is not logged:\n%s", buf.String())
	}
	now = now.Add(refusedWindow)
	r.note("192.0.2.1:2222", []string{"SHA256:late", "SHA256:other"})
	last := buf.String()[strings.LastIndex(strings.TrimSuffix(buf.String(), "\n"), "\n")+1:]
	if !strings.Contains(last, `fingerprints="SHA256:late SHA256:other"`) || !strings.Contains(last, "unlogged_since_last=5") {
		t.Fatalf("the next window's line does not carry its keys and the 5 unlogged: %s", last)
	}
}
