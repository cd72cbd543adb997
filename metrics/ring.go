package metrics

import "time"

// slots is how many one-minute points a ring holds: Retention of them.
const slots = int(Retention / Resolution)

// minuteOf is t's minute since the Unix epoch. It fits an int32 until
// the year 6053.
func minuteOf(t time.Time) int32 { return int32(t.Unix() / int64(Resolution/time.Second)) }

// timeOf is the start of minute m, in UTC.
func timeOf(m int32) time.Time { return time.Unix(int64(m)*int64(Resolution/time.Second), 0).UTC() }

// slotOf is where minute m is kept in a ring.
func slotOf(m int32) int { return int(uint32(m) % uint32(slots)) }

// Status classes, the index of a request's class in trafficPoint.classes.
const (
	class2xx = iota
	class3xx
	class4xx
	class5xx
	classOther // 1xx, or none: the client went before an answer
	numClasses
)

// classNames are the names of the status classes charts and Prometheus
// show (classOther is counted in the total only).
var classNames = [...]string{"2xx", "3xx", "4xx", "5xx"}

// classOf returns the class of an HTTP status.
func classOf(status int) int {
	switch status / 100 {
	case 2:
		return class2xx
	case 3:
		return class3xx
	case 4:
		return class4xx
	case 5:
		return class5xx
	}
	return classOther
}

// trafficPoint is one minute of requests. A point whose minute is not
// the one asked for is an empty minute: the ring slot was not written
// since it last came round.
type trafficPoint struct {
	minute  int32
	classes [numClasses]uint32
	// pct are the minute's p50, p95 and p99 latencies in seconds; set
	// when the minute is over (the live minute is read from its
	// histogram).
	pct [3]float32
}

func (p *trafficPoint) total() uint64 {
	var n uint64
	for _, c := range p.classes {
		n += uint64(c)
	}
	return n
}

// trafficRing holds an app's requests of the last Retention, one point a
// minute, and the histogram of the minute being written. Its size is
// fixed: it does not grow with traffic.
type trafficRing struct {
	points [slots]trafficPoint
	live   int32 // the minute hist counts; its point is points[slotOf(live)]
	hist   histogram
}

// percentiles are the quantiles every latency line shows.
var percentiles = []float64{0.50, 0.95, 0.99}

// percentileNames name the lines of the latency chart.
var percentileNames = [...]string{"p50", "p95", "p99"}

// roll makes m the live minute: the minute that was live gets its
// percentiles and the histogram starts afresh. A minute before the live
// one (a clock stepped back) is counted in the live one.
func (r *trafficRing) roll(m int32) *trafficPoint {
	if m <= r.live {
		return &r.points[slotOf(r.live)]
	}
	if r.live != 0 {
		r.seal()
	}
	r.live = m
	p := &r.points[slotOf(m)]
	*p = trafficPoint{minute: m}
	return p
}

// seal stores the live minute's percentiles and clears the histogram.
func (r *trafficRing) seal() {
	var q [3]float64
	r.hist.quantiles(percentiles, q[:])
	p := &r.points[slotOf(r.live)]
	for i, v := range q {
		p.pct[i] = float32(v)
	}
	r.hist = histogram{}
}

// at returns the point of minute m, nil when nothing was counted then.
func (r *trafficRing) at(m int32) *trafficPoint {
	p := &r.points[slotOf(m)]
	if p.minute != m || m == 0 {
		return nil
	}
	return p
}

// pct returns minute m's percentiles, the live minute's read from its
// histogram.
func (r *trafficRing) pct(m int32, p *trafficPoint) [3]float64 {
	var q [3]float64
	if m == r.live {
		r.hist.quantiles(percentiles, q[:])
		return q
	}
	for i, v := range p.pct {
		q[i] = float64(v)
	}
	return q
}

// usagePoint is one minute of one instance: the means of the samples
// taken in it.
type usagePoint struct {
	minute int32
	cpu    float32 // cores
	mem    float32 // bytes
	cpuN   uint16  // samples averaged in cpu
	memN   uint16
}

// usageRing holds an instance's CPU and memory of the last Retention.
type usageRing struct {
	points [slots]usagePoint
	last   int32 // newest minute written
	// cpu and mem are the newest samples, for gauges; cpuOK is false
	// until a CPU sample was taken.
	cpu   float64
	mem   float64
	cpuOK bool
}

// add averages a sample into minute m; cpu < 0 means unknown (the first
// sample of an instance has no interval to measure over).
func (r *usageRing) add(m int32, cpu, mem float64) {
	p := &r.points[slotOf(m)]
	if p.minute != m {
		*p = usagePoint{minute: m}
	}
	if cpu >= 0 {
		p.cpuN++
		p.cpu += (float32(cpu) - p.cpu) / float32(p.cpuN)
		r.cpu, r.cpuOK = cpu, true
	}
	p.memN++
	p.mem += (float32(mem) - p.mem) / float32(p.memN)
	r.mem = mem
	r.last = max(r.last, m)
}

// at returns the point of minute m, nil when no sample was taken then.
func (r *usageRing) at(m int32) *usagePoint {
	p := &r.points[slotOf(m)]
	if p.minute != m || m == 0 {
		return nil
	}
	return p
}
