package logs

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paas/internal/lossyfs"
)

// TestSyncedHistorySurvivesACrash writes an app's history over several
// segments, syncs it and crashes the machine: every synced line is read
// back, in the segments made after the log's directory was synced too.
func TestSyncedHistorySurvivesACrash(t *testing.T) {
	l := lossyfs.MountForTest(t)
	logDir := filepath.Join(l.Dir, "logs", "app")
	d, _, err := openDiskLog(logDir, 64<<10) // 16 KiB segments
	if err != nil {
		t.Fatal(err)
	}
	const lines = 2000
	text := strings.Repeat("x", 60)
	for i := 1; i <= lines; i++ {
		if err := d.append(&Line{Seq: uint64(i), Time: time.Now().UTC(), App: "app", Source: "app", Proc: "web.1", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	segs := len(d.segs)
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	if segs < 3 {
		t.Fatalf("the history took %d segments; the test needs several", segs)
	}
	if err := l.Crash(); err != nil {
		t.Fatal(err)
	}
	d, last, err := openDiskLog(logDir, 64<<10)
	if err != nil {
		t.Fatalf("opening the history after the crash: %v", err)
	}
	defer d.close()
	if last != lines {
		t.Fatalf("the history after the crash ends at line %d, want %d", last, lines)
	}
}
