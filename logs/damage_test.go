package logs

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the aggregator's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDamagedSegmentsAreIsolated garbles bytes in the middle of one of an
// app's segments and the header of its newest, then restarts: another
// app's history is whole; this app's reads every line up to the damaged
// spot and every line of the segments after it, with a line saying where
// the history is damaged; paasd's log names the segments; the damaged
// newest segment is kept aside, and new lines are written and read.
func TestDamagedSegmentsAreIsolated(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(Config{Dir: dir, Retention: 256 << 10, TailLines: 10})
	if err != nil {
		t.Fatal(err)
	}
	const n = 6000
	for i := 1; i <= n; i++ {
		a.Write("shop", "app", "web.1", fmt.Sprint("shop line ", i))
		a.Write("blog", "app", "web.1", fmt.Sprint("blog line ", i))
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segFiles(t, filepath.Join(dir, "shop"))
	if len(segs) < 4 {
		t.Fatalf("%d segments: want several", len(segs))
	}
	middle, newest := segs[1], segs[len(segs)-1]
	data, err := os.ReadFile(middle)
	if err != nil {
		t.Fatal(err)
	}
	// The lines whose records end before the damaged spot stay
	// readable; those after it in this segment do not.
	at := len(data) / 2
	readable, unreadable := map[uint64]bool{}, map[uint64]bool{}
	off := len(segmentMagic)
	scanRecords(data[off:], func(l Line) bool {
		n, _ := recordLen(data[off:])
		off += n
		if off <= at {
			readable[l.Seq] = true
		} else {
			unreadable[l.Seq] = true
		}
		return true
	})
	if len(readable) == 0 || len(unreadable) == 0 {
		t.Fatalf("damage at %d of %d bytes splits nothing", at, len(data))
	}
	copy(data[at:], "\xde\xad\xbe\xef\xde\xad\xbe\xef")
	if err := os.WriteFile(middle, data, 0o600); err != nil {
		t.Fatal(err)
	}
	newestData, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	copy(newestData, "garbage!")
	if err := os.WriteFile(newest, newestData, 0o600); err != nil {
		t.Fatal(err)
	}

	var logged syncBuffer
	b, err := Open(Config{Dir: dir, Retention: 256 << 10, TailLines: 10, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if blog := b.Tail("blog", -1, Filter{}); len(blog) == 0 || blog[len(blog)-1].Text != fmt.Sprint("blog line ", n) {
		t.Fatalf("the other app's history: %d lines", len(blog))
	}
	b.Write("shop", "app", "web.1", "after the restart")
	got := b.Tail("shop", -1, Filter{})

	firstOf := func(path string) uint64 {
		var seq uint64
		fmt.Sscan(strings.TrimSuffix(filepath.Base(path), segmentSuffix), &seq)
		return seq
	}
	var notes []string
	seen := map[uint64]bool{}
	for _, l := range got {
		if l.Seq == 0 {
			if l.Source != SourcePaas || l.Proc != "logs" || l.App != "shop" {
				t.Fatalf("note line %+v", l)
			}
			notes = append(notes, l.Text)
			continue
		}
		seen[l.Seq] = true
	}
	want := fmt.Sprintf("log history damaged on disk: the rest of segment %s cannot be read and is skipped", filepath.Base(middle))
	if len(notes) != 1 || notes[0] != want {
		t.Fatalf("notes = %q, want %q", notes, want)
	}
	// Every line of the segments before the newest is there but the
	// ones after the damaged spot in the middle segment.
	for seq := firstOf(segs[0]); seq < firstOf(newest); seq++ {
		if seen[seq] == unreadable[seq] {
			t.Fatalf("line %d read: %v", seq, seen[seq])
		}
	}
	if last := got[len(got)-1]; last.Text != "after the restart" || last.Seq < firstOf(newest) {
		t.Fatalf("the line written after the restart: %+v", last)
	}
	if _, err := os.Stat(newest + ".damaged"); err != nil {
		t.Fatalf("the damaged newest segment is not kept aside: %v", err)
	}
	for _, w := range []string{"log segment damaged", filepath.Base(middle), "moved to " + newest + ".damaged"} {
		if !strings.Contains(logged.String(), w) {
			t.Errorf("paasd's log lacks %q:\n%s", w, logged.String())
		}
	}
}
