package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeHistory appends n lines to a new history with small segments and
// returns its segments after the buffer is written out. Line i (from 1)
// is "line i" from web.1 when i is odd and worker.1 when even.
func writeHistory(t *testing.T, n int) []segment {
	t.Helper()
	d, _, err := openDiskLog(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	d.segSize = 4 << 10
	t.Cleanup(func() { d.close() })
	for i := 1; i <= n; i++ {
		proc := "web.1"
		if i%2 == 0 {
			proc = "worker.1"
		}
		l := Line{Seq: uint64(i), Time: time.Unix(0, 0), Source: SourceApp, Proc: proc, Text: fmt.Sprint("line ", i)}
		if err := d.append(&l); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := d.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 4 {
		t.Fatalf("%d segments: want several", len(segs))
	}
	return segs
}

// readAll reads from next to end in batches of max lines and returns the
// sequence numbers read and the lines reported lost. It fails on a line
// that reports damage: see readAllDamaged.
func readAll(t *testing.T, segs []segment, next, end uint64, f Filter, max int) (seqs []uint64, lost uint64) {
	t.Helper()
	seqs, lost, damaged := readAllDamaged(t, segs, next, end, f, max)
	if len(damaged) > 0 {
		t.Fatalf("damage reported: %v", damaged)
	}
	return seqs, lost
}

// readAllDamaged is readAll that also returns the texts of the lines
// that report damaged segments, in the order read (seqs has a 0 there).
func readAllDamaged(t *testing.T, segs []segment, next, end uint64, f Filter, max int) (seqs []uint64, lost uint64, damaged []string) {
	t.Helper()
	var r segReader
	defer r.close()
	for calls := 0; next <= end; calls++ {
		if calls > 10000 {
			t.Fatalf("no progress at %d", next)
		}
		before := next
		lines, l, err := r.read(nil, segs, &next, end, f, max)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) > max {
			t.Fatalf("%d lines for a batch of %d", len(lines), max)
		}
		lost += l
		for _, ln := range lines {
			if ln.Seq == 0 && ln.Source == SourcePaas && ln.Proc == "logs" {
				damaged = append(damaged, ln.Text)
				seqs = append(seqs, 0)
				continue
			}
			if want := fmt.Sprint("line ", ln.Seq); ln.Text != want || !f.Match(ln) {
				t.Fatalf("read %+v", ln)
			}
			seqs = append(seqs, ln.Seq)
		}
		if next == before {
			break
		}
	}
	return seqs, lost, damaged
}

func TestSegReaderReadsForwardAcrossSegments(t *testing.T) {
	segs := writeHistory(t, 2000)
	seqs, lost := readAll(t, segs, 150, 1900, Filter{}, 7)
	if lost != 0 || len(seqs) != 1751 || seqs[0] != 150 || seqs[len(seqs)-1] != 1900 {
		t.Fatalf("read %d lines (%v…), lost %d", len(seqs), seqs[:min(3, len(seqs))], lost)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("%d after %d", seqs[i], seqs[i-1])
		}
	}
	// A filter: only the even lines, every one of them.
	seqs, lost = readAll(t, segs, 1, 2000, Filter{Proc: "worker"}, 50)
	if lost != 0 || len(seqs) != 1000 || seqs[0] != 2 || seqs[999] != 2000 {
		t.Fatalf("filtered: %d lines, lost %d", len(seqs), lost)
	}
}

func TestSegReaderCountsRemovedSegments(t *testing.T) {
	segs := writeHistory(t, 2000)
	// The retention removes the first two segments after the list was
	// taken: their lines are counted lost, the rest is read.
	for _, sg := range segs[:2] {
		if err := os.Remove(sg.path); err != nil {
			t.Fatal(err)
		}
	}
	seqs, lost := readAll(t, segs, 1, 2000, Filter{}, 100)
	if want := segs[2].first - 1; lost != want || uint64(len(seqs)) != 2000-want || seqs[0] != segs[2].first {
		t.Fatalf("read %d lines from %d, lost %d; want %d lost", len(seqs), seqs[0], lost, want)
	}
	// A reader behind the oldest segment of the list gets the gap too.
	seqs, lost = readAll(t, segs[2:], 1, 2000, Filter{}, 100)
	if lost != segs[2].first-1 || seqs[0] != segs[2].first {
		t.Fatalf("lost %d, first %d", lost, seqs[0])
	}
}

func TestSegReaderSkipsADamagedRecord(t *testing.T) {
	segs := writeHistory(t, 2000)
	// Damage a record in the middle of the second segment: the rest of
	// that segment is lost, counted, and the next segment is read.
	data, err := os.ReadFile(segs[1].path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(segs[1].path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// The reader is told where, once.
	seqs, lost, damaged := readAllDamaged(t, segs, 1, 2000, Filter{}, 64)
	want := fmt.Sprintf("log history damaged on disk: the rest of segment %s cannot be read and is skipped", filepath.Base(segs[1].path))
	if len(damaged) != 1 || damaged[0] != want {
		t.Fatalf("damage reported: %q, want %q", damaged, want)
	}
	at := slices.Index(seqs, 0)
	if at <= 0 || seqs[at-1] < segs[1].first || seqs[at+1] != segs[2].first {
		t.Fatalf("damage reported between %d and %d; the second segment is %d.., the third %d..", seqs[at-1], seqs[at+1], segs[1].first, segs[2].first)
	}
	seqs = slices.Delete(seqs, at, at+1)
	if uint64(len(seqs))+lost != 2000 || lost == 0 || seqs[len(seqs)-1] != 2000 {
		t.Fatalf("read %d, lost %d", len(seqs), lost)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("%d after %d", seqs[i], seqs[i-1])
		}
	}
}

// TestSegReaderSkipsDamagedSegments damages one segment's header and
// cuts another short: each is reported where it is, and every line of
// the segments after them is read.
func TestSegReaderSkipsDamagedSegments(t *testing.T) {
	segs := writeHistory(t, 2000)
	if err := os.WriteFile(segs[1].path, []byte("garbage!garbage!garbage!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(segs[2].path, segs[2].size-3); err != nil {
		t.Fatal(err)
	}
	seqs, lost, damaged := readAllDamaged(t, segs, 1, 2000, Filter{}, 64)
	if len(damaged) != 2 || !strings.Contains(damaged[0], filepath.Base(segs[1].path)) || !strings.Contains(damaged[1], filepath.Base(segs[2].path)) {
		t.Fatalf("damage reported: %q", damaged)
	}
	got := map[uint64]bool{}
	for _, s := range seqs {
		got[s] = true
	}
	for s := uint64(1); s <= 2000; s++ {
		inSecond := s >= segs[1].first && s < segs[2].first
		lastOfThird := s == segs[3].first-1
		if got[s] == (inSecond || lastOfThird) {
			t.Fatalf("line %d read: %v (second segment %d.., third %d.., fourth %d..)", s, got[s], segs[1].first, segs[2].first, segs[3].first)
		}
	}
	if lost != segs[2].first-segs[1].first+1 {
		t.Fatalf("lost %d", lost)
	}
}
