package drains

import (
	"fmt"
	"testing"
	"time"

	"paas/internal/syslogtest"
	"paas/logs"
)

// TestRenameApp moves an app's drain to its new name: lines written
// under the new name reach the receiver, and the old name has no drain.
func TestRenameApp(t *testing.T) {
	rcv := newReceiver(t, nil)
	st := newMemStore("old-app", "new-app")
	m, agg, _ := testManager(t, st, nil)
	if _, err := m.Add("old-app", fmt.Sprintf("syslog://127.0.0.1:%d", rcv.Port())); err != nil {
		t.Fatal(err)
	}
	m.RenameApp("old-app", "new-app")
	if got := m.List("old-app"); len(got) != 0 {
		t.Errorf("drains left under the old name: %+v", got)
	}
	if got := m.List("new-app"); len(got) != 1 {
		t.Fatalf("drains of the new name: %+v", got)
	}
	agg.Write("new-app", logs.SourceApp, "web.1", "after the rename")
	rcv.WaitFor("the line of the renamed app", 10*time.Second, func(ms []syslogtest.Message) bool {
		for _, msg := range ms {
			if msg.Text == "after the rename" {
				return true
			}
		}
		return false
	})
}
