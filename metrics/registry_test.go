package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time for tests.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }
func chart(cs []Chart, key string) Chart {
	return cs[slices.IndexFunc(cs, func(c Chart) bool { return c.Key == key })]
}
func line(c Chart, name string) Line {
	return c.Lines[slices.IndexFunc(c.Lines, func(l Line) bool { return l.Name == name })]
}
func sum(ps []Point) (n float64) {
	for _, p := range ps {
		n += p.V
	}
	return n
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestRequestsPerMinuteAndRollover(t *testing.T) {
	c := newClock(t0.Add(10 * time.Second))
	r := NewRegistry(c.now)
	for range 3 {
		r.Request("shop", 200, 10*time.Millisecond)
	}
	r.Request("shop", 503, time.Millisecond)
	c.add(time.Minute)
	r.Request("shop", 404, time.Millisecond)
	r.Request("shop", 301, time.Millisecond)
	c.add(2 * time.Minute) // a quiet minute, then one more request
	r.Request("shop", 200, time.Millisecond)

	req := chart(r.Charts("shop", 5*time.Minute), "requests")
	if len(req.Lines) != 4 {
		t.Fatalf("lines %+v", req.Lines)
	}
	ok := line(req, "2xx").Points
	if len(ok) != 5 || !ok[4].T.Equal(t0.Add(3*time.Minute)) || !ok[0].T.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("2xx points %+v", ok)
	}
	want := map[string][]float64{
		"2xx": {0, 3, 0, 0, 1},
		"3xx": {0, 0, 1, 0, 0},
		"4xx": {0, 0, 1, 0, 0},
		"5xx": {0, 1, 0, 0, 0},
	}
	for name, vs := range want {
		var got []float64
		for _, p := range line(req, name).Points {
			got = append(got, p.V)
		}
		if !slices.Equal(got, vs) {
			t.Errorf("%s: %v, want %v", name, got, vs)
		}
	}

	// A day later the ring has come round: the old minutes are gone, not
	// read as today's.
	c.add(Retention)
	r.Request("shop", 500, time.Millisecond)
	day := chart(r.Charts("shop", Retention), "requests")
	if n := len(line(day, "2xx").Points); n != slots {
		t.Fatalf("a day has %d points, want %d", n, slots)
	}
	if got := sum(line(day, "2xx").Points) + sum(line(day, "3xx").Points) + sum(line(day, "4xx").Points); got != 0 {
		t.Errorf("a day later, %v requests of yesterday are still counted", got)
	}
	if got := sum(line(day, "5xx").Points); got != 1 {
		t.Errorf("5xx over the day: %v, want 1", got)
	}
	// A window past Retention is Retention.
	if n := len(line(chart(r.Charts("shop", 48*time.Hour), "requests"), "2xx").Points); n != slots {
		t.Errorf("a 48 h window has %d points", n)
	}
}

func TestRingKeepsExactlyRetention(t *testing.T) {
	c := newClock(t0)
	r := NewRegistry(c.now)
	// One request every minute for a day and an hour: the chart of the
	// day has one in each minute, the hour before it gone.
	for range slots + 60 {
		r.Request("busy", 200, time.Millisecond)
		c.add(time.Minute)
	}
	c.add(-time.Minute)
	pts := line(chart(r.Charts("busy", Retention), "requests"), "2xx").Points
	for i, p := range pts {
		if p.V != 1 {
			t.Fatalf("point %d (%s) = %v, want 1", i, p.T, p.V)
		}
	}
	if !pts[0].T.Equal(t0.Add(60*time.Minute)) || len(pts) != slots {
		t.Errorf("the day starts at %s with %d points", pts[0].T, len(pts))
	}
}

func TestPercentiles(t *testing.T) {
	c := newClock(t0)
	r := NewRegistry(c.now)
	// 1..1000 ms, shuffled: p50 = 500 ms, p95 = 950 ms, p99 = 990 ms.
	var ds []time.Duration
	for i := 1; i <= 1000; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	for _, d := range ds {
		r.Request("api", 200, d)
	}
	check := func(when string) {
		lat := chart(r.Charts("api", time.Hour), "latency")
		for i, want := range []float64{0.5, 0.95, 0.99} {
			pts := lat.Lines[i].Points
			if len(pts) < 1 || !pts[0].T.Equal(t0) {
				t.Fatalf("%s: %s has points %+v", when, lat.Lines[i].Name, pts)
			}
			if got := pts[0].V; math.Abs(got-want)/want > 1.0/16 {
				t.Errorf("%s: %s = %v, want %v within 6.25%%", when, lat.Lines[i].Name, got, want)
			}
		}
	}
	check("live minute")
	c.add(time.Minute)
	r.Request("api", 200, time.Hour) // seals the first minute
	check("sealed minute")
	if names := []string{chart(r.Charts("api", time.Hour), "latency").Lines[0].Name}; names[0] != "web p50" {
		t.Errorf("latency line named %q", names[0])
	}
}

func TestHistogramErrorBound(t *testing.T) {
	for us := int64(1); us < 1<<maxOctave; us = us*9/8 + 1 {
		d := time.Duration(us) * time.Microsecond
		mid := bucketMid(bucketOf(d))
		want := d.Seconds()
		if err := math.Abs(mid-want) / want; err > 1.0/16+1e-9 && us >= subBuckets {
			t.Fatalf("%v reads as %vs: off by %.1f%%", d, mid, err*100)
		}
		if us < subBuckets && math.Abs(mid-want) > 0.5e-6+1e-12 {
			t.Fatalf("%v reads as %vs", d, mid)
		}
	}
	if b := bucketOf(time.Hour); b != histBuckets-1 {
		t.Errorf("an hour is in bucket %d", b)
	}
	if b := bucketOf(-time.Second); b != 0 {
		t.Errorf("a negative latency is in bucket %d", b)
	}
}

func TestSummary(t *testing.T) {
	c := newClock(t0)
	r := NewRegistry(c.now)
	if s := r.Summary("none"); s != (AppSummary{}) {
		t.Errorf("summary of an app without series: %+v", s)
	}
	// 10 requests a minute for 10 minutes, one 5xx in each minute.
	for range 10 {
		for i := range 10 {
			status := 200
			if i == 0 {
				status = 502
			}
			r.Request("shop", status, time.Millisecond)
		}
		c.add(time.Minute)
	}
	// Now is the start of a new minute, empty so far: the summary is over
	// the four minutes before it and a moment of this one.
	s := r.Summary("shop")
	if s.RequestsPerMin < 9.9 || s.RequestsPerMin > 10 {
		t.Errorf("requests/min %v, want about 10", s.RequestsPerMin)
	}
	if math.Abs(s.ErrorRate-0.1) > 1e-9 {
		t.Errorf("error rate %v, want 0.1", s.ErrorRate)
	}
	c.add(10 * time.Minute)
	if s := r.Summary("shop"); s != (AppSummary{}) {
		t.Errorf("summary of an app quiet for 10 minutes: %+v", s)
	}
}

func TestReleaseMarks(t *testing.T) {
	c := newClock(t0)
	r := NewRegistry(c.now)
	r.Release("shop", 3, t0.Add(-25*time.Hour)) // older than Retention: not shown
	r.Release("shop", 5, t0.Add(-30*time.Minute))
	r.Release("shop", 4, t0.Add(-2*time.Hour))
	for _, ch := range r.Charts("shop", 24*time.Hour) {
		var labels []string
		for _, m := range ch.Marks {
			labels = append(labels, m.Label)
		}
		if !slices.Equal(labels, []string{"v4", "v5"}) {
			t.Errorf("%s marks %v", ch.Key, labels)
		}
	}
	if n := len(r.Charts("shop", time.Hour)[0].Marks); n != 1 {
		t.Errorf("the last hour has %d marks", n)
	}
	for v := range 2 * maxMarks {
		r.Release("shop", v, t0)
	}
	if n := len(r.Charts("shop", time.Hour)[0].Marks); n != maxMarks {
		t.Errorf("%d marks kept", n)
	}
}

func TestRenameAndForget(t *testing.T) {
	c := newClock(t0)
	r := NewRegistry(c.now)
	r.Request("old", 200, time.Millisecond)
	r.Sample("old", "web.1", 0.5, 1<<20)
	r.Release("old", 2, t0)
	r.Request("other", 200, time.Millisecond)

	r.Rename("old", "new")
	if s := r.Summary("old"); s != (AppSummary{}) {
		t.Errorf("old name still has series: %+v", s)
	}
	cs := r.Charts("new", time.Hour)
	if got := sum(line(chart(cs, "requests"), "2xx").Points); got != 1 {
		t.Errorf("renamed app has %v requests", got)
	}
	if len(chart(cs, "memory").Lines) != 1 || len(cs[0].Marks) != 1 {
		t.Errorf("renamed app's memory %+v marks %+v", chart(cs, "memory").Lines, cs[0].Marks)
	}
	if !slices.Equal(r.Apps(), []string{"new", "other"}) {
		t.Errorf("apps %v", r.Apps())
	}

	r.Forget("new")
	if !slices.Equal(r.Apps(), []string{"other"}) {
		t.Errorf("apps after forget %v", r.Apps())
	}
	for _, ch := range r.Charts("new", time.Hour) {
		if ch.Key != "requests" && len(ch.Lines) != 0 || len(ch.Marks) != 0 {
			t.Errorf("forgotten app's %s: %+v", ch.Key, ch)
		}
	}
	if r.Instances("new") != nil {
		t.Error("forgotten app has instances")
	}
	r.Forget("never")
	r.Rename("never", "x")
	if !slices.Equal(r.Apps(), []string{"other"}) {
		t.Errorf("apps %v", r.Apps())
	}
}

func TestInstanceUsage(t *testing.T) {
	c := newClock(t0)
	r := NewRegistry(c.now)
	r.Sample("shop", "web.10", -1, 100)
	r.Sample("shop", "web.2", 0.25, 200)
	r.Sample("shop", "web.2", 0.75, 400) // same minute: averaged
	r.Sample("shop", "worker.1", 1, 300)
	cs := r.Charts("shop", time.Hour)
	cpu, mem := chart(cs, "cpu"), chart(cs, "memory")
	var names []string
	for _, l := range mem.Lines {
		names = append(names, l.Name)
	}
	if !slices.Equal(names, []string{"web.2", "web.10", "worker.1"}) {
		t.Fatalf("instances %v", names)
	}
	if p := line(cpu, "web.2").Points; len(p) != 1 || p[0].V != 0.5 {
		t.Errorf("web.2 cpu %+v", p)
	}
	if p := line(mem, "web.2").Points; len(p) != 1 || p[0].V != 300 {
		t.Errorf("web.2 memory %+v", p)
	}
	if p := line(cpu, "web.10").Points; len(p) != 0 {
		t.Errorf("web.10 without a CPU sample has points %+v", p)
	}
	now := r.Instances("shop")
	if len(now) != 3 || now[0] != (InstanceUsage{"web.2", 0.75, 400}) {
		t.Errorf("instances now %+v", now)
	}
	// Not sampled for a while: not running now; after Retention, gone.
	c.add(5 * time.Minute)
	if n := len(r.Instances("shop")); n != 0 {
		t.Errorf("%d instances still running", n)
	}
	r.Sample("shop", "web.2", 0.1, 1)
	c.add(Retention - time.Minute)
	r.Prune()
	if cs := r.Charts("shop", Retention); len(chart(cs, "memory").Lines) != 1 {
		t.Errorf("after a day, memory lines %+v", chart(cs, "memory").Lines)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := newClock(t0)
	r := NewRegistry(c.now)
	apps := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	const perWorker = 2000
	for w := range 4 {
		wg.Go(func() {
			for i := range perWorker {
				r.Request(apps[(w+i)%len(apps)], 200, time.Duration(i)*time.Microsecond)
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			c.add(time.Second)
			r.Sample("a", "web.1", 0.1, 1)
			r.Release("b", i, c.now())
			r.Charts("a", time.Hour)
			r.Summary("b")
			r.Rename("c", "d")
			r.Rename("d", "c")
		}
	})
	wg.Wait()
	var total float64
	for _, app := range r.Apps() {
		total += sum(line(chart(r.Charts(app, time.Hour), "requests"), "2xx").Points)
	}
	// A request to "c" while it was named "d" started a new "c": the
	// total over the names left is at most what was sent, and every app
	// that was not renamed has all of its requests.
	if total > 4*perWorker {
		t.Errorf("%v requests counted, %d sent", total, 4*perWorker)
	}
	for _, app := range []string{"a", "b"} {
		want := 0
		for w := range 4 {
			for i := range perWorker {
				if apps[(w+i)%len(apps)] == app {
					want++
				}
			}
		}
		if got := sum(line(chart(r.Charts(app, time.Hour), "requests"), "2xx").Points); got != float64(want) {
			t.Errorf("%s: %v requests, want %d", app, got, want)
		}
	}
}

func TestRequestAllocatesNothing(t *testing.T) {
	r := NewRegistry(nil)
	r.Request("shop", 200, time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { r.Request("shop", 200, time.Millisecond) }); n != 0 {
		t.Errorf("Request allocates %v times", n)
	}
}

func BenchmarkRequest(b *testing.B) {
	r := NewRegistry(nil)
	apps := []string{"a", "b", "c", "d"}
	for _, a := range apps {
		r.Request(a, 200, time.Millisecond)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.Request(apps[i&3], 200+(i&1)*300, time.Duration(i&1023)*time.Microsecond)
			i++
		}
	})
}

func BenchmarkRequestOneGoroutine(b *testing.B) {
	r := NewRegistry(nil)
	r.Request("shop", 200, time.Millisecond)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Request("shop", 200, time.Duration(i&1023)*time.Microsecond)
	}
}
