package deploy

import (
	"strings"
	"testing"
	"time"

	"paas"
)

// TestFailedStartShowsOnlyItsOwnLines fails a release whose web.1 exits
// while the previous release's web.1 keeps writing: the failure's last
// lines of web.1 are the new instance's only.
func TestFailedStartShowsOnlyItsOwnLines(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	chatty := "web: while :; do echo old web tick; sleep 0.02; done & exec python3 -m http.server $PORT --bind 127.0.0.1 --directory site\n"
	if err := h.deploy("chatty", map[string]string{"Procfile": chatty, "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	err := h.deploy("chatty", map[string]string{"Procfile": "web: echo new web failing; sleep 0.5; exit 4\n"})
	msg, ok := paas.UserMessage(err)
	if !ok || !strings.Contains(msg, "web.1 exited with status 4 before listening") {
		t.Fatalf("deploy: %v, want web.1's exit", err)
	}
	_, last, _ := strings.Cut(msg, "last lines of web.1:\n")
	if !strings.Contains(last, "new web failing") || strings.Contains(last, "old web tick") {
		t.Errorf("last lines of the failed web.1:\n%s\nwant its own line only", last)
	}
}
