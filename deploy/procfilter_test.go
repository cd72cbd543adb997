package deploy

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/logs"
)

// TestUnknownProcessTypeIsRefused refuses logs --ps and ps:restart of a
// type the app has never had, naming the types it has; an index of a
// known type, one-offs and the platform's lines are fine.
func TestUnknownProcessTypeIsRefused(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("typed", map[string]string{"Procfile": webProc + "worker: sleep 600\n", "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	logsOf := func(proc string) error {
		var out bytes.Buffer
		return h.svc.Logs(ctx, "typed", logs.Query{Filter: logs.Filter{Proc: proc}, N: 10}, logs.Format{}, &out)
	}
	for _, proc := range []string{"nope", "nope.1"} {
		err := logsOf(proc)
		msg, ok := paas.UserMessage(err)
		if !ok || !strings.Contains(msg, "typed has no nope processes") || !strings.Contains(msg, "web, worker") {
			t.Errorf("logs --ps %s: %v, want an error naming web, worker", proc, err)
		}
	}
	for _, proc := range []string{"web", "web.7", "worker", "run", "run.4711", "deploy", "api", "router"} {
		if err := logsOf(proc); err != nil {
			t.Errorf("logs --ps %s: %v", proc, err)
		}
	}

	err := h.svc.Restart(ctx, "typed", "nope", io.Discard)
	if msg, ok := paas.UserMessage(err); !ok || !strings.Contains(msg, "no nope process type") || !strings.Contains(msg, "web, worker") {
		t.Errorf("ps:restart nope: %v, want an error naming web, worker", err)
	}
	if err := h.svc.Restart(ctx, "typed", "web", io.Discard); err != nil {
		t.Errorf("ps:restart web: %v", err)
	}
}
