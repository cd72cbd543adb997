package metrics

import (
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// WebType is the process type the router's traffic is counted under: only
// web instances receive requests.
const WebType = "web"

// maxMarks bounds the releases remembered per app within Retention.
const maxMarks = 256

// Registry keeps every app's series in memory: per app, the router's
// requests (status classes and latencies) of the last Retention in a ring
// of one-minute points, and per instance its CPU and memory. Memory is
// bounded: the rings are pre-sized arrays, so an app costs the same
// whatever its traffic, and an instance not sampled for Retention is
// dropped. It also holds the platform's counters. A Registry is safe for
// concurrent use; Request is cheap enough for the router's hot path.
type Registry struct {
	now func() time.Time

	apps atomic.Pointer[map[string]*appSeries] // read without locking; replaced under mu
	mu   sync.Mutex

	counters [numCounters]atomic.Uint64
	from     [numCounters]func() uint64
}

// appSeries is one app's series. Its mutex guards everything in it: a
// request takes it briefly, and apps do not contend with each other.
type appSeries struct {
	mu        sync.Mutex
	traffic   trafficRing
	instances map[string]*usageRing // by instance name, "web.1"
	marks     []Mark

	// Totals since paasd started, for Prometheus' counters.
	requests [numClasses]uint64
	latency  [len(promBounds)]uint64 // requests at most promBounds[i]
	latSum   float64                 // seconds
}

// NewRegistry returns an empty Registry reading time from now (time.Now
// when nil).
func NewRegistry(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	r := &Registry{now: now}
	r.apps.Store(&map[string]*appSeries{})
	return r
}

// series returns app's series, creating them when create is set (nil
// otherwise when there are none).
func (r *Registry) series(app string, create bool) *appSeries {
	if s := (*r.apps.Load())[app]; s != nil || !create {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	apps := *r.apps.Load()
	if s := apps[app]; s != nil {
		return s
	}
	s := &appSeries{instances: map[string]*usageRing{}}
	next := maps.Clone(apps)
	next[app] = s
	r.apps.Store(&next)
	return s
}

// Request counts one request the router answered for app with status, in
// d. It takes the app's lock briefly and allocates nothing once the app
// has series.
func (r *Registry) Request(app string, status int, d time.Duration) {
	s := r.series(app, true)
	m := minuteOf(r.now())
	c := classOf(status)
	b := bucketOf(d)
	secs := d.Seconds()
	s.mu.Lock()
	p := s.traffic.roll(m)
	p.classes[c]++
	s.traffic.hist[b]++
	s.requests[c]++
	for i, bound := range promBounds {
		if secs <= bound {
			s.latency[i]++
		}
	}
	s.latSum += secs
	s.mu.Unlock()
}

// Release marks on app's charts that release version went live at at.
func (r *Registry) Release(app string, version int, at time.Time) {
	s := r.series(app, true)
	cut := r.now().Add(-Retention)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks = slices.DeleteFunc(s.marks, func(m Mark) bool { return m.T.Before(cut) })
	if len(s.marks) >= maxMarks {
		s.marks = slices.Delete(s.marks, 0, len(s.marks)-maxMarks+1)
	}
	s.marks = append(s.marks, Mark{T: at.UTC(), Label: "v" + strconv.Itoa(version)})
	slices.SortStableFunc(s.marks, func(a, b Mark) int { return a.T.Compare(b.T) })
}

// Sample records one sample of an instance of app (its name, "web.1"):
// cpu in cores over the time since its previous sample (negative when
// unknown), mem in bytes. Samples of one minute are averaged.
func (r *Registry) Sample(app, instance string, cpu, mem float64) {
	s := r.series(app, true)
	m := minuteOf(r.now())
	s.mu.Lock()
	u := s.instances[instance]
	if u == nil {
		u = &usageRing{}
		s.instances[instance] = u
	}
	u.add(m, cpu, mem)
	s.mu.Unlock()
}

// Prune drops the instances of every app not sampled within Retention.
func (r *Registry) Prune() {
	cut := minuteOf(r.now().Add(-Retention))
	for _, s := range *r.apps.Load() {
		s.mu.Lock()
		maps.DeleteFunc(s.instances, func(_ string, u *usageRing) bool { return u.last <= cut })
		s.mu.Unlock()
	}
}

// Forget drops every series of app (destroyed).
func (r *Registry) Forget(app string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	apps := *r.apps.Load()
	if apps[app] == nil {
		return
	}
	next := maps.Clone(apps)
	delete(next, app)
	r.apps.Store(&next)
}

// Rename moves app old's series to new, replacing any new had.
func (r *Registry) Rename(old, new string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	apps := *r.apps.Load()
	s := apps[old]
	if s == nil || old == new {
		return
	}
	next := maps.Clone(apps)
	delete(next, old)
	next[new] = s
	r.apps.Store(&next)
}

// Apps lists the apps that have series, sorted.
func (r *Registry) Apps() []string {
	return slices.Sorted(maps.Keys(*r.apps.Load()))
}
