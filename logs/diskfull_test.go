package logs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFullDiskLeavesNoTornRecord writes an app's log while its history's
// file system (a small tmpfs) fills up, then frees room and writes more:
// the history, read back live and after a restart, holds only whole
// lines that were written, in order, and every line written once there
// was room again.
func TestFullDiskLeavesNoTornRecord(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "paas-logs-full", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs as root: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	// The filler takes what the history does not, so that the disk
	// fills in the middle of a write of the history.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 300<<10)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	logDir := filepath.Join(dir, "logs")
	a, err := Open(Config{Dir: logDir, Retention: 64 << 20, TailLines: 10})
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 997)
	line := func(kind string, i int) string { return fmt.Sprintf("%s-%05d-%s", kind, i, pad) }
	for i := range 1000 {
		a.WriteRelease("burst", "app", "web.1", 1, line("full", i))
	}
	a.Sync()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		a.WriteRelease("burst", "app", "web.1", 1, line("room", i))
	}
	a.Sync()

	check := func(when string, got []Line) {
		t.Helper()
		last, room, full := -1, 0, 0
		for _, l := range got {
			kind, rest, _ := strings.Cut(l.Text, "-")
			var i int
			if _, err := fmt.Sscanf(rest, "%05d-", &i); err != nil || l.Text != line(kind, i) || (kind != "full" && kind != "room") {
				t.Fatalf("%s: a line that was not written: %.60q", when, l.Text)
			}
			if kind == "room" {
				if i != room {
					t.Fatalf("%s: line room-%d follows room-%d", when, i, room-1)
				}
				room++
				continue
			}
			if room > 0 || i <= last {
				t.Fatalf("%s: line full-%d out of order", when, i)
			}
			last = i
			full++
		}
		if full == 1000 {
			t.Fatalf("%s: the disk did not fill: every line kept", when)
		}
		if room != 100 {
			t.Fatalf("%s: %d of the 100 lines written with room again", when, room)
		}
	}
	check("live", a.Tail("burst", -1, Filter{}))
	if err := a.Close(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	b := openTest(t, logDir, 64<<20, 10)
	check("after a restart", b.Tail("burst", -1, Filter{}))
}
