package metrics

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"
)

// summaryWindow is the span AppSummary covers.
const summaryWindow = 5 * time.Minute

// Summary is the app's traffic over the last five minutes: the live
// minute so far and the four before it.
func (r *Registry) Summary(app string) AppSummary {
	s := r.series(app, false)
	if s == nil {
		return AppSummary{}
	}
	now := r.now()
	cur := minuteOf(now)
	n := int32(summaryWindow / Resolution)
	var total, errs uint64
	s.mu.Lock()
	for m := cur - n + 1; m <= cur; m++ {
		if p := s.traffic.at(m); p != nil {
			total += p.total()
			errs += uint64(p.classes[class5xx])
		}
	}
	s.mu.Unlock()
	if total == 0 {
		return AppSummary{}
	}
	// The live minute counts for the part of it that has passed.
	elapsed := float64(n-1) + max(now.Sub(timeOf(cur)).Minutes(), 1.0/60)
	return AppSummary{RequestsPerMin: float64(total) / elapsed, ErrorRate: float64(errs) / float64(total)}
}

// window returns the minutes a chart of the last window shows, oldest
// first: at least one, at most Retention's.
func (r *Registry) window(window time.Duration) (first, last int32) {
	n := int32(min(max(window, Resolution), Retention) / Resolution)
	last = minuteOf(r.now())
	return last - n + 1, last
}

// Charts are the app's charts over the last window (at most Retention),
// with its releases marked: "requests" (a line per status class, req/min,
// a point every minute), "latency" (web p50, p95, p99 in seconds, a point
// every minute with requests), "cpu" (a line per instance, cores) and
// "memory" (a line per instance, bytes), a point every minute sampled.
// An app without series has the four charts with no lines.
func (r *Registry) Charts(app string, window time.Duration) []Chart {
	first, last := r.window(window)
	charts := []Chart{
		{Key: "requests", Title: "Requests", Unit: "req/min"},
		{Key: "latency", Title: "Response time", Unit: "s"},
		{Key: "cpu", Title: "CPU", Unit: "cores"},
		{Key: "memory", Title: "Memory", Unit: "bytes"},
	}
	s := r.series(app, false)
	if s == nil {
		for i := range charts {
			charts[i].Lines, charts[i].Marks = []Line{}, []Mark{}
		}
		return charts
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	charts[0].Lines = s.requestLines(first, last)
	charts[1].Lines = s.latencyLines(first, last)
	charts[2].Lines, charts[3].Lines = s.usageLines(first, last)
	from := timeOf(first)
	var marks []Mark
	for _, mk := range s.marks {
		if !mk.T.Before(from) {
			marks = append(marks, mk)
		}
	}
	for i := range charts {
		charts[i].Marks = slices.Clone(marks)
		if charts[i].Marks == nil {
			charts[i].Marks = []Mark{}
		}
	}
	return charts
}

// requestLines are the requests per status class. s is locked.
func (s *appSeries) requestLines(first, last int32) []Line {
	lines := make([]Line, len(classNames))
	for c, name := range classNames {
		lines[c] = Line{Name: name, Points: make([]Point, 0, last-first+1)}
	}
	for m := first; m <= last; m++ {
		p := s.traffic.at(m)
		for c := range classNames {
			v := 0.0
			if p != nil {
				v = float64(p.classes[c])
			}
			lines[c].Points = append(lines[c].Points, Point{T: timeOf(m), V: v})
		}
	}
	return lines
}

// latencyLines are the web percentiles. s is locked.
func (s *appSeries) latencyLines(first, last int32) []Line {
	lines := make([]Line, len(percentileNames))
	for i, name := range percentileNames {
		lines[i] = Line{Name: WebType + " " + name, Points: []Point{}}
	}
	for m := first; m <= last; m++ {
		p := s.traffic.at(m)
		if p == nil || p.total() == 0 {
			continue
		}
		q := s.traffic.pct(m, p)
		for i := range lines {
			lines[i].Points = append(lines[i].Points, Point{T: timeOf(m), V: q[i]})
		}
	}
	return lines
}

// usageLines are the CPU and memory lines of each instance sampled in
// the window, by instance type and number. s is locked.
func (s *appSeries) usageLines(first, last int32) (cpu, mem []Line) {
	cpu, mem = []Line{}, []Line{}
	for _, name := range sortedInstances(s.instances) {
		u := s.instances[name]
		if u.last < first {
			continue
		}
		c, mm := Line{Name: name, Points: []Point{}}, Line{Name: name, Points: []Point{}}
		for m := first; m <= last; m++ {
			p := u.at(m)
			if p == nil {
				continue
			}
			if p.cpuN > 0 {
				c.Points = append(c.Points, Point{T: timeOf(m), V: float64(p.cpu)})
			}
			mm.Points = append(mm.Points, Point{T: timeOf(m), V: float64(p.mem)})
		}
		cpu, mem = append(cpu, c), append(mem, mm)
	}
	return cpu, mem
}

// sortedInstances orders instance names by type, then number: web.2
// before web.10.
func sortedInstances(m map[string]*usageRing) []string {
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b string) int {
		ta, na, _ := strings.Cut(a, ".")
		tb, nb, _ := strings.Cut(b, ".")
		return cmp.Or(cmp.Compare(ta, tb), cmp.Compare(len(na), len(nb)), cmp.Compare(na, nb))
	})
	return names
}

// InstanceUsage is an instance's newest sample.
type InstanceUsage struct {
	Instance string  `json:"instance"` // "web.1"
	CPU      float64 `json:"cpu"`      // cores
	Memory   float64 `json:"memory"`   // bytes
}

// fresh is how old an instance's newest sample may be for it to count as
// running now.
const fresh = 2 * Resolution

// Instances returns the newest sample of each of app's instances sampled
// in the last two minutes, by type and number.
func (r *Registry) Instances(app string) []InstanceUsage {
	s := r.series(app, false)
	if s == nil {
		return nil
	}
	since := minuteOf(r.now().Add(-fresh))
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []InstanceUsage
	for _, name := range sortedInstances(s.instances) {
		if u := s.instances[name]; u.last >= since {
			out = append(out, InstanceUsage{Instance: name, CPU: u.cpu, Memory: u.mem})
		}
	}
	return out
}
