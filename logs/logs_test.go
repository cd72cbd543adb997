package logs

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func texts(lines []Line) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Text
	}
	return out
}

func TestLineString(t *testing.T) {
	l := Line{
		Time:   time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.FixedZone("X", 3600)),
		Source: "app", Proc: "web.1", Text: "hello",
	}
	if got, want := l.String(), "2026-11-26T09:00:00.123456Z app[web.1]: hello"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	l.Time = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if got, want := l.String(), "2026-01-02T03:04:05.000000Z app[web.1]: hello"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestWriteOrderAndSeq(t *testing.T) {
	a := New(100)
	a.Write("hello", "app", "web.1", "one\ntwo\r\n")
	a.Lines("hello", "web.2", 1, [][]byte{[]byte("three")})
	a.Write("hello", "paas", "deploy", "")
	a.Write("other", "app", "web.1", "elsewhere")

	got := a.Tail("hello", 10, Filter{})
	want := []string{"one", "two", "three", ""}
	if strings.Join(texts(got), "|") != strings.Join(want, "|") {
		t.Fatalf("texts = %q, want %q", texts(got), want)
	}
	for i, l := range got {
		if l.Seq != uint64(i+1) {
			t.Errorf("line %d seq = %d", i, l.Seq)
		}
		if l.App != "hello" || l.Time.Location() != time.UTC || l.Time.IsZero() {
			t.Errorf("line %d = %+v", i, l)
		}
	}
	if got[2].Source != "app" || got[2].Proc != "web.2" {
		t.Errorf("Line() made %+v", got[2])
	}
	if got[3].Source != "paas" || got[3].Proc != "deploy" {
		t.Errorf("Write() made %+v", got[3])
	}
	if o := a.Tail("other", 10, Filter{}); len(o) != 1 || o[0].Seq != 1 {
		t.Errorf("other app = %+v", o)
	}
	if n := a.Tail("nobody", 10, Filter{}); n != nil {
		t.Errorf("unknown app = %+v", n)
	}
	// Every line of every app is counted.
	if n := a.Written(); n != 5 {
		t.Errorf("Written() = %d, want 5", n)
	}
}

func TestSanitize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain\ttab", "plain\ttab"},
		{"cr\rin middle", "crin middle"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1\u0085x", `c1\u0085x`},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"ünïcode ✓", "ünïcode ✓"},
	}
	for _, c := range cases {
		if got := sanitize(c.in); got != c.want {
			t.Errorf("sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLongLinesSplit(t *testing.T) {
	a := New(100)
	long := strings.Repeat("é", MaxTextBytes) // twice MaxTextBytes bytes
	a.Write("app", "app", "web.1", long+"\nshort")
	got := a.Tail("app", -1, Filter{})
	if len(got) != 3 || got[2].Text != "short" {
		t.Fatalf("%d lines", len(got))
	}
	if got[0].Text+got[1].Text != long || len(got[0].Text) > MaxTextBytes || len(got[1].Text) > MaxTextBytes {
		t.Fatalf("pieces of %d and %d bytes", len(got[0].Text), len(got[1].Text))
	}
	// Escaping can make a line longer than the limit: it is split too.
	a.Write("app", "app", "web.1", strings.Repeat("\x1b", MaxTextBytes))
	got = a.Tail("app", 5, Filter{})
	if len(got) != 5 || got[0].Text != "short" || strings.Join(texts(got[1:]), "") != strings.Repeat(`\x1b`, MaxTextBytes) {
		t.Fatalf("escaped: %d lines", len(got))
	}
}

func TestRingBound(t *testing.T) {
	a := New(5)
	for i := 1; i <= 12; i++ {
		a.Write("app", "app", "web.1", fmt.Sprint(i))
	}
	got := a.Tail("app", 100, Filter{})
	if strings.Join(texts(got), ",") != "8,9,10,11,12" {
		t.Fatalf("after wrap: %q", texts(got))
	}
	if got[0].Seq != 8 || got[4].Seq != 12 {
		t.Fatalf("seqs %d..%d", got[0].Seq, got[4].Seq)
	}
	if got := a.Tail("app", 2, Filter{}); strings.Join(texts(got), ",") != "11,12" {
		t.Fatalf("tail 2: %q", texts(got))
	}
	if got := a.Tail("app", -1, Filter{}); len(got) != 5 {
		t.Fatalf("tail -1: %d lines", len(got))
	}
	if got := a.Tail("app", 0, Filter{}); len(got) != 0 {
		t.Fatalf("tail 0: %d lines", len(got))
	}
}

func TestFilter(t *testing.T) {
	a := New(100)
	for _, p := range []struct{ src, proc string }{
		{"app", "web.1"}, {"app", "web.2"}, {"app", "worker.1"}, {"app", "webby.1"},
		{"paas", "router"}, {"paas", "deploy"}, {"app", "web.1"}, {"app", "run.4711"},
	} {
		a.Write("x", p.src, p.proc, p.src+"/"+p.proc)
	}
	cases := []struct {
		f    Filter
		want string
	}{
		{Filter{}, "app/web.1,app/web.2,app/worker.1,app/webby.1,paas/router,paas/deploy,app/web.1,app/run.4711"},
		{Filter{Proc: "web"}, "app/web.1,app/web.2,app/web.1"},
		{Filter{Proc: "web.2"}, "app/web.2"},
		{Filter{Proc: "router"}, "paas/router"},
		{Filter{Proc: "run"}, "app/run.4711"},
		{Filter{Source: "paas"}, "paas/router,paas/deploy"},
		{Filter{Source: "app", Proc: "worker"}, "app/worker.1"},
	}
	for _, c := range cases {
		if got := strings.Join(texts(a.Tail("x", 100, c.f)), ","); got != c.want {
			t.Errorf("filter %+v: %s, want %s", c.f, got, c.want)
		}
	}
	// n counts matching lines, not all lines.
	if got := strings.Join(texts(a.Tail("x", 2, Filter{Proc: "web"})), ","); got != "app/web.2,app/web.1" {
		t.Errorf("tail 2 web: %s", got)
	}
	// Release selects the lines of one release's instances.
	a.WriteRelease("y", "app", "web.1", 1, "v1 line")
	a.WriteRelease("y", "app", "web.1", 2, "v2 line")
	a.WriteRelease("y", "app", "web.1", 1, "v1 again")
	if got := strings.Join(texts(a.Tail("y", 100, Filter{Proc: "web.1", Release: 2})), ","); got != "v2 line" {
		t.Errorf("release 2: %s", got)
	}
}

// follow is Follow collecting the history.
func follow(t *testing.T, a *Aggregator, app string, q Query) ([]Line, <-chan Line, func()) {
	t.Helper()
	var history []Line
	live, cancel, err := a.Follow(app, q, func(l Line) error {
		history = append(history, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return history, live, cancel
}

// recv reads one line or fails after a deadline.
func recv(t *testing.T, ch <-chan Line) (Line, bool) {
	t.Helper()
	select {
	case l, ok := <-ch:
		return l, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no line within 5s")
		return Line{}, false
	}
}

func TestFollowConcurrentWriters(t *testing.T) {
	a := New(2000)
	const writers, each = 4, 200
	for i := range 50 {
		a.Write("app", "app", "web.1", fmt.Sprint("pre ", i))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				a.Write("app", "app", fmt.Sprintf("web.%d", w+1), fmt.Sprint(i))
			}
		}()
	}
	close(start)
	// Follow while the writers run: history and live must join seamlessly.
	history, live, cancel := follow(t, a, "app", Query{N: -1})
	defer cancel()
	wg.Wait()
	a.Write("app", "paas", "api", "end")

	seen := make([]Line, 0, len(history)+writers*each)
	seen = append(seen, history...)
	for {
		l, ok := recv(t, live)
		if !ok {
			t.Fatal("channel closed")
		}
		if l.Seq == 0 {
			t.Fatalf("unexpected synthetic line %q", l.Text)
		}
		seen = append(seen, l)
		if l.Text == "end" {
			break
		}
	}
	// Sequence numbers are consecutive from the oldest line seen.
	for i := 1; i < len(seen); i++ {
		if seen[i].Seq != seen[i-1].Seq+1 {
			t.Fatalf("gap or repeat at %d: %d after %d", i, seen[i].Seq, seen[i-1].Seq)
		}
	}
	if seen[0].Seq != 1 || len(seen) != 50+writers*each+1 {
		t.Fatalf("saw %d lines from seq %d", len(seen), seen[0].Seq)
	}
	// Per writer, its lines arrive in its order.
	next := map[string]int{}
	for _, l := range seen {
		if l.Source != "app" || strings.HasPrefix(l.Text, "pre") {
			continue
		}
		var n int
		fmt.Sscan(l.Text, &n)
		if n != next[l.Proc] {
			t.Fatalf("%s: got %d, want %d", l.Proc, n, next[l.Proc])
		}
		next[l.Proc]++
	}
}

func TestFollowFilterAndHistory(t *testing.T) {
	a := New(100)
	a.Write("app", "app", "web.1", "w1")
	a.Write("app", "app", "worker.1", "k1")
	a.Write("app", "app", "web.2", "w2")
	history, live, cancel := follow(t, a, "app", Query{N: 1, Filter: Filter{Proc: "web"}})
	defer cancel()
	if strings.Join(texts(history), ",") != "w2" {
		t.Fatalf("history %q", texts(history))
	}
	a.Write("app", "app", "worker.1", "k2")
	a.Write("app", "app", "web.1", "w3")
	if l, _ := recv(t, live); l.Text != "w3" {
		t.Fatalf("live got %q", l.Text)
	}
}

func TestSlowReaderLosesOnlyWhatMemoryCannotHold(t *testing.T) {
	// Memory only, 10 lines: a reader that does not read while 1000
	// lines are written gets what it had already taken, a marker that
	// counts exactly what it lost, then the last 10 lines; the writer
	// never waits for it.
	a := New(10)
	_, live, cancel := follow(t, a, "app", Query{})
	defer cancel()
	const total = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			a.Write("app", "app", "web.1", fmt.Sprint(i))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writer blocked by a reader that does not read")
	}
	next, seen, dropped, markers := 0, 0, 0, 0
	for next < total {
		l, ok := recv(t, live)
		if !ok {
			t.Fatal("channel closed")
		}
		if l.Seq == 0 {
			var n int
			if _, err := fmt.Sscanf(l.Text, "%d lines dropped for this reader", &n); err != nil || l.Source != "paas" || l.Proc != "logs" {
				t.Fatalf("marker = %+v", l)
			}
			next += n
			dropped += n
			markers++
			continue
		}
		if l.Text != fmt.Sprint(next) {
			t.Fatalf("got %q, want %d", l.Text, next)
		}
		next++
		seen++
	}
	if seen+dropped != total || seen < 10 || markers == 0 {
		t.Fatalf("seen %d, dropped %d in %d markers", seen, dropped, markers)
	}
	select {
	case l := <-live:
		t.Fatalf("unexpected line %q before any new write", l.Text)
	default:
	}
	a.Write("app", "app", "web.1", "after")
	if l, _ := recv(t, live); l.Text != "after" {
		t.Fatalf("after: %q", l.Text)
	}
}

func TestRemoveClosesFollowers(t *testing.T) {
	a := New(10)
	a.Write("app", "app", "web.1", "old")
	_, live, cancel := follow(t, a, "app", Query{})
	a.Remove("app")
	if _, ok := recv(t, live); ok {
		t.Fatal("channel still open after Remove")
	}
	cancel() // after Remove: must not panic
	cancel()
	if got := a.Tail("app", 10, Filter{}); len(got) != 0 {
		t.Fatalf("history kept: %q", texts(got))
	}
	a.Write("app", "app", "web.1", "new")
	if got := a.Tail("app", 10, Filter{}); len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("after remove: %+v", got)
	}
}

func TestCancelClosesAndStopsDelivery(t *testing.T) {
	a := New(10)
	_, live, cancel := follow(t, a, "app", Query{})
	cancel()
	if _, ok := recv(t, live); ok {
		t.Fatal("channel open after cancel")
	}
	a.Write("app", "app", "web.1", "x") // must not panic on a closed channel
	cancel()
}

func TestRemoveWhileWriting(t *testing.T) {
	a := New(10)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					a.Write("app", "app", "web.1", "x")
				}
			}
		}()
	}
	for range 200 {
		_, live, cancel := follow(t, a, "app", Query{N: 1})
		a.Remove("app")
		for range live {
		}
		cancel()
	}
	close(stop)
	wg.Wait()
}

func TestPrinterMatchesAppend(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC)
	lines := []Line{
		{Seq: 1, Time: t0, Source: SourceApp, Proc: "web.1", Release: 3, Text: "a"},
		{Seq: 2, Time: t0, Source: SourceApp, Proc: "web.2", Release: 3, Text: "b"},
		{Seq: 3, Time: t0.Add(time.Microsecond), Source: SourcePaas, Proc: "router", Text: "c"},
		{Seq: 4, Time: t0.Add(time.Microsecond).In(time.FixedZone("X", 3600)), Source: SourceApp, Proc: "web.1", Text: "d"},
		{Seq: 5, Time: t0, Source: SourceApp, Proc: "web.1", Text: "e"},
	}
	for _, f := range []Format{{}, {JSON: true}, {Color: true}} {
		p := printer{f: f}
		for _, l := range lines {
			if got, want := string(p.append(nil, l)), string(f.Append(nil, l)); got != want {
				t.Fatalf("%+v: printer %q, Append %q", f, got, want)
			}
		}
	}
}
