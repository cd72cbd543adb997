package logs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTest(t *testing.T, dir string, retention int64, tail int) *Aggregator {
	t.Helper()
	a, err := Open(Config{Dir: dir, Retention: retention, TailLines: tail})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHistoryFromDiskBeyondTail(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir, 1<<20, 10)
	for i := 1; i <= 5000; i++ {
		a.WriteRelease("app", "app", fmt.Sprintf("web.%d", i%3+1), 7, fmt.Sprint(i))
	}
	got := a.Tail("app", 3000, Filter{})
	if len(got) != 3000 || got[0].Text != "2001" || got[2999].Text != "5000" {
		t.Fatalf("%d lines, %q..%q", len(got), got[0].Text, got[len(got)-1].Text)
	}
	for i, l := range got {
		if l.Seq != uint64(2001+i) || l.App != "app" || l.Release != 7 || l.Source != "app" {
			t.Fatalf("line %d = %+v", i, l)
		}
	}
	web2 := a.Tail("app", 20, Filter{Proc: "web.2"})
	if len(web2) != 20 || web2[19].Text != "4999" || web2[0].Text != "4942" {
		t.Fatalf("web.2: %d lines %q..%q", len(web2), web2[0].Text, web2[len(web2)-1].Text)
	}
	if all := a.Tail("app", -1, Filter{}); len(all) != 5000 {
		t.Fatalf("all: %d lines", len(all))
	}
}

func TestRetentionRemovesOldestSegment(t *testing.T) {
	dir := t.TempDir()
	const retention = 64 << 10
	a := openTest(t, dir, retention, 10)
	line := strings.Repeat("x", 100)
	for range 5000 { // about 600 KB of records
		a.Write("app", "app", "web.1", line)
	}
	a.Sync()
	var total int64
	files := segFiles(t, filepath.Join(dir, "app"))
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	if len(files) < 2 || total > retention+segmentSize(retention) {
		t.Fatalf("%d segments, %d bytes", len(files), total)
	}
	all := a.Tail("app", -1, Filter{})
	if len(all) == 0 || all[len(all)-1].Seq != 5000 || all[0].Seq == 1 {
		t.Fatalf("retained %d lines", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq != all[i-1].Seq+1 {
			t.Fatalf("gap at %d", all[i].Seq)
		}
	}
}

func TestRestartContinuesSequence(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(Config{Dir: dir, TailLines: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		a.WriteRelease("app", "app", "web.1", 3, fmt.Sprint(i))
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := openTest(t, dir, 0, 5)
	b.Announce("api", "paasd started")
	got := b.Tail("app", 3, Filter{})
	if len(got) != 3 || got[0].Text != "49" || got[1].Text != "50" || got[2].Seq != 51 || got[2].Text != "paasd started" || got[2].Source != "paas" {
		t.Fatalf("after restart: %+v", got)
	}
	if got[0].Release != 3 || got[0].Time.Location() != time.UTC {
		t.Fatalf("decoded %+v", got[0])
	}
	// A torn record at the end (a crash mid-write) is cut off.
	b.Close()
	seg := segFiles(t, filepath.Join(dir, "app"))
	f, err := os.OpenFile(seg[len(seg)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{40, 0, 0, 0, 1, 2, 3})
	f.Close()
	c := openTest(t, dir, 0, 5)
	c.Write("app", "paas", "api", "again")
	got = c.Tail("app", -1, Filter{})
	if len(got) != 52 || got[51].Seq != 52 || got[51].Text != "again" {
		t.Fatalf("after torn record: %d lines, last %+v", len(got), got[len(got)-1])
	}
}

func TestFlusherSyncsWithoutClose(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir, 0, 5)
	a.Write("app", "app", "web.1", "durable")
	deadline := time.Now().Add(5 * time.Second)
	for {
		seg := segFiles(t, filepath.Join(dir, "app"))
		if len(seg) == 1 {
			data, _ := os.ReadFile(seg[0])
			if bytes.Contains(data, []byte("durable")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("line not on disk within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRemoveDeletesFiles(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir, 0, 5)
	a.Write("app", "app", "web.1", "x")
	a.Write("other", "app", "web.1", "y")
	a.Sync()
	a.Remove("app")
	if _, err := os.Stat(filepath.Join(dir, "app")); !os.IsNotExist(err) {
		t.Fatalf("history still there: %v", err)
	}
	if got := a.Tail("other", -1, Filter{}); len(got) != 1 {
		t.Fatalf("other app: %d lines", len(got))
	}
	a.Write("app", "app", "web.1", "new")
	if got := a.Tail("app", -1, Filter{}); len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("after remove: %+v", got)
	}
}

func TestUnsafeAppNamesStayInMemory(t *testing.T) {
	dir := t.TempDir()
	a := openTest(t, dir, 0, 5)
	for _, app := range []string{"../escape", ".hidden", "a/b", ""} {
		a.Write(app, "app", "web.1", "x")
		if got := a.Tail(app, -1, Filter{}); len(got) != 1 {
			t.Fatalf("%q: %d lines", app, len(got))
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("created %v", entries)
	}
}

func TestSince(t *testing.T) {
	for _, tail := range []int{1, 1000} { // from disk and from memory
		a := openTest(t, t.TempDir(), 0, tail)
		for i := range 3 {
			a.Write("app", "app", "web.1", fmt.Sprint("old", i))
		}
		time.Sleep(20 * time.Millisecond) // the boundary needs distinct receive times
		cut := time.Now()
		for i := range 3 {
			a.Write("app", "app", "web.1", fmt.Sprint("new", i))
		}
		var got []string
		a.History("app", Query{N: -1, Since: cut}, func(l Line) error { got = append(got, l.Text); return nil })
		if strings.Join(got, ",") != "new0,new1,new2" {
			t.Fatalf("tail %d: since: %q", tail, got)
		}
		got = nil
		a.History("app", Query{N: 2, Since: cut}, func(l Line) error { got = append(got, l.Text); return nil })
		if strings.Join(got, ",") != "new1,new2" {
			t.Fatalf("tail %d: since with n: %q", tail, got)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	good := map[string]time.Time{
		"10m":                       now.Add(-10 * time.Minute),
		"1h30m":                     now.Add(-90 * time.Minute),
		"2d":                        now.Add(-48 * time.Hour),
		"2026-11-26T10:00:00Z":      time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
		"2026-11-26T11:00:00+01:00": time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
		"2026-11-26T10:00:00.5Z":    time.Date(2026, 11, 26, 10, 0, 0, 5e8, time.UTC),
	}
	for in, want := range good {
		got, err := ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "-5m", "0s", "yesterday", "2026-11-26", "2026-11-26T10:00", "1e3d", "+5m"} {
		if _, err := ParseSince(in, now); err == nil {
			t.Errorf("ParseSince(%q) accepted", in)
		}
	}
}

func TestFormat(t *testing.T) {
	l := Line{Seq: 9, Time: time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC), App: "a", Source: "app", Proc: "web.2", Release: 4, Text: `paas[deploy]: "forged"`}
	if got := string(Format{}.Append(nil, l)); got != "2026-11-26T10:00:00.123456Z app[web.2]: paas[deploy]: \"forged\"\n" {
		t.Fatalf("text: %q", got)
	}
	var j map[string]any
	out := Format{JSON: true}.Append(nil, l)
	if err := json.Unmarshal(out, &j); err != nil || out[len(out)-1] != '\n' || bytes.Count(out, []byte("\n")) != 1 {
		t.Fatalf("json %q: %v", out, err)
	}
	want := map[string]any{"time": "2026-11-26T10:00:00.123456Z", "seq": 9.0, "source": "app", "instance": "web.2", "release": 4.0, "message": `paas[deploy]: "forged"`}
	for k, v := range want {
		if j[k] != v {
			t.Errorf("json %s = %v, want %v", k, j[k], v)
		}
	}
	c := string(Format{Color: true}.Append(nil, l))
	if !strings.Contains(c, "\x1b[") || !strings.HasSuffix(c, "\x1b[0m paas[deploy]: \"forged\"\n") {
		t.Fatalf("colour: %q", c)
	}
	if string(Format{Color: true}.Append(nil, l)) != c {
		t.Fatal("colour not stable")
	}
}

func TestForgedPlatformLineStaysAppLine(t *testing.T) {
	a := New(10)
	a.Lines("app", "web.1", 9, [][]byte{[]byte("\x1b[2K\rpaas[deploy]: release v9 created by admin")})
	got := a.Tail("app", -1, Filter{Source: SourcePaas})
	if len(got) != 0 {
		t.Fatalf("forged line counted as platform: %+v", got)
	}
	l := a.Tail("app", -1, Filter{})[0]
	out := string(Format{}.Append(nil, l))
	if !strings.Contains(out, ` app[web.1]: \x1b[2Kpaas[deploy]: release v9`) || strings.ContainsAny(out[:len(out)-1], "\x1b\r\n") {
		t.Fatalf("printed %q", out)
	}
}

func TestSubscribe(t *testing.T) {
	a := New(10)
	var got []Line
	cancel := a.Subscribe(func(l Line) { got = append(got, l) })
	a.WriteRelease("one", "paas", "deploy", 2, "a\nb")
	a.Write("two", "app", "web.1", "c")
	cancel()
	a.Write("one", "app", "web.1", "d")
	if len(got) != 3 || got[0].Seq != 1 || got[1].Seq != 2 || got[1].Release != 2 || got[2].App != "two" || got[2].Seq != 1 {
		t.Fatalf("subscriber got %+v", got)
	}
}

func TestStreamCatchesUpFromHistory(t *testing.T) {
	seen, dropped := slowStream(t, 0)
	if seen != stalledLines || dropped != 0 {
		t.Fatalf("seen %d, dropped %d: want every line from the history", seen, dropped)
	}
}

func TestStreamReportsLinesRetentionRemoved(t *testing.T) {
	seen, dropped := slowStream(t, 64<<10)
	if dropped == 0 || seen+dropped != stalledLines {
		t.Fatalf("seen %d + dropped %d != %d", seen, dropped, stalledLines)
	}
}

// stalledLines is how many lines are written while a reader stalls: far
// more than the tail in memory holds.
const stalledLines = 30000

// slowStream streams to a reader that stalls while stalledLines lines
// are written, then reads everything; it checks order and returns how
// many numbered lines arrived and how many were reported dropped.
func slowStream(t *testing.T, retention int64) (seen, dropped int) {
	dir := t.TempDir()
	a := openTest(t, dir, retention, 10)
	for i := range 20 {
		a.Write("app", "app", "web.1", fmt.Sprint("h", i, strings.Repeat(" ", 100)))
	}
	pr, pw := newBlockingPipe()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Stream(ctx, "app", Query{N: 15, Follow: true}, Format{JSON: true}, pw) }()
	waitFollowers(t, a, "app", 1)
	// The reader does not read: the writer must not block.
	wrote := make(chan struct{})
	go func() {
		for i := range stalledLines {
			a.Write("app", "app", "web.1", fmt.Sprint("l", i, strings.Repeat(" ", 100)))
		}
		close(wrote)
	}()
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("writer held up by a stalled reader")
	}
	// Now read everything: history, then live lines, a drop marker, and
	// "last" (written once the reader has made room); every number
	// appears at most once and in order, and the lines received plus the
	// dropped count add up.
	type msg struct {
		Seq      uint64
		Source   string
		Instance string
		Message  string
	}
	msgs := make(chan msg, 100)
	go func() {
		defer close(msgs)
		dec := json.NewDecoder(pr)
		for {
			var j msg
			if err := dec.Decode(&j); err != nil {
				return
			}
			msgs <- j
		}
	}()
	next := 0
	first, sentLast := true, false
	for {
		var j msg
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("stream ended")
			}
			j = m
		case <-time.After(10 * time.Second):
			t.Fatal("no line within 10s")
		}
		j.Message = strings.TrimSpace(j.Message)
		if first && j.Message != "h5" {
			t.Fatalf("history starts with %q", j.Message)
		}
		first = false
		if !sentLast && strings.HasPrefix(j.Message, "l") {
			a.Write("app", "app", "web.1", "last")
			sentLast = true
		}
		if j.Instance == "logs" {
			var n int
			if _, err := fmt.Sscanf(j.Message, "%d lines dropped for this reader", &n); err != nil {
				t.Fatalf("marker %q", j.Message)
			}
			dropped += n
			next += n
			continue
		}
		if j.Message == "last" {
			break
		}
		if strings.HasPrefix(j.Message, "l") {
			if j.Message != fmt.Sprint("l", next) {
				t.Fatalf("got %q, want l%d", j.Message, next)
			}
			next++
			seen++
		}
	}
	stop()
	pr.Close()
	if err := <-done; err != nil && !strings.Contains(err.Error(), "closed") {
		t.Fatal(err)
	}
	return seen, dropped
}

// waitFollowers waits until app has n live readers.
func waitFollowers(t *testing.T, a *Aggregator, app string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := a.get(app, true)
		l.mu.Lock()
		got := l.readers
		l.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d followers, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamBehindStopsWhenCancelled: a reader far behind that goes away
// is not fed the rest of the history.
func TestStreamBehindStopsWhenCancelled(t *testing.T) {
	a := openTest(t, t.TempDir(), 0, 10)
	a.Write("app", "app", "web.1", "first")
	pr, pw := newBlockingPipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Stream(ctx, "app", Query{N: 0, Follow: true}, Format{}, pw) }()
	waitFollowers(t, a, "app", 1)
	const total = 50000
	for i := range total {
		a.Write("app", "app", "web.1", fmt.Sprint("line ", i))
	}
	cancel()
	n := 0
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			n++
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stream still running after its context ended")
	}
	pw.Close()
	<-readDone
	if n >= total/2 {
		t.Fatalf("%d of %d lines written after the reader went away", n, total)
	}
}
