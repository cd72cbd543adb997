package metrics

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// promBounds are the upper bounds (seconds) of the latency histogram
// Prometheus reads: cumulative since paasd started, coarser than the
// per-minute one the charts read.
var promBounds = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// promClasses names the status classes as Prometheus labels, by class.
var promClasses = [numClasses]string{"2xx", "3xx", "4xx", "5xx", "other"}

// collector shows a Registry to Prometheus, reading it at scrape time:
// the series are kept once, in the Registry.
type collector struct {
	r        *Registry
	counters [numCounters]*prometheus.Desc
	requests *prometheus.Desc
	latency  *prometheus.Desc
	cpu      *prometheus.Desc
	memory   *prometheus.Desc
}

// Collector returns a Prometheus collector of r's series and counters.
// Its labels are bounded: app, process_type, status_class (five values)
// and instance (the app's instance names, "web.1").
func (r *Registry) Collector() prometheus.Collector {
	c := &collector{r: r}
	for i, info := range counterInfo {
		c.counters[i] = prometheus.NewDesc(info.name, info.help, nil, nil)
	}
	c.requests = prometheus.NewDesc("paas_app_requests_total",
		"Requests the router answered for the app, by status class.",
		[]string{"app", "process_type", "status_class"}, nil)
	c.latency = prometheus.NewDesc("paas_app_request_duration_seconds",
		"Time from a request's start to the end of its response, as the router measures it.",
		[]string{"app", "process_type"}, nil)
	c.cpu = prometheus.NewDesc("paas_instance_cpu_cores",
		"CPU the instance used over the newest sample, in cores.",
		[]string{"app", "process_type", "instance"}, nil)
	c.memory = prometheus.NewDesc("paas_instance_memory_bytes",
		"Memory the instance holds (resident set, or the container's usage less its page cache).",
		[]string{"app", "process_type", "instance"}, nil)
	return c
}

// Describe sends the descriptions of every metric c shows.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.counters {
		ch <- d
	}
	ch <- c.requests
	ch <- c.latency
	ch <- c.cpu
	ch <- c.memory
}

// Collect sends the current values.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for i, d := range c.counters {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(c.r.Count(Counter(i))))
	}
	since := minuteOf(c.r.now().Add(-fresh))
	apps := *c.r.apps.Load()
	for _, app := range c.r.Apps() {
		s := apps[app]
		if s == nil {
			continue
		}
		s.mu.Lock()
		requests, latency, sum := s.requests, s.latency, s.latSum
		type gauge struct {
			name     string
			cpu, mem float64
			cpuOK    bool
		}
		var gauges []gauge
		for _, name := range sortedInstances(s.instances) {
			if u := s.instances[name]; u.last >= since {
				gauges = append(gauges, gauge{name, u.cpu, u.mem, u.cpuOK})
			}
		}
		s.mu.Unlock()
		var count uint64
		for i, n := range requests {
			count += n
			ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(n), app, WebType, promClasses[i])
		}
		buckets := make(map[float64]uint64, len(promBounds))
		for i, b := range promBounds {
			buckets[b] = latency[i]
		}
		ch <- prometheus.MustNewConstHistogram(c.latency, count, sum, buckets, app, WebType)
		for _, g := range gauges {
			typ, _, _ := strings.Cut(g.name, ".")
			if g.cpuOK {
				ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.GaugeValue, g.cpu, app, typ, g.name)
			}
			ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, g.mem, app, typ, g.name)
		}
	}
}

// Handler serves r in Prometheus' text format, with the Go runtime's and
// the process's own metrics of paasd.
func (r *Registry) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
