package metrics

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape serves r's handler once and parses the text it writes.
func scrape(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// series returns the metrics of family name whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
next:
	for _, m := range fams[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func TestPrometheus(t *testing.T) {
	c := newClock(t0)
	r := NewRegistry(c.now)
	r.Request("shop", 200, 3*time.Millisecond)
	r.Request("shop", 200, 300*time.Millisecond)
	r.Request("shop", 502, 20*time.Second)
	r.Request("shop", 0, time.Millisecond) // the client went first
	r.Sample("shop", "web.1", -1, 1000)
	r.Sample("shop", "worker.1", 0.5, 2000)
	r.Sample("gone", "web.1", 0.5, 3000)
	c.add(3 * time.Minute) // gone's instance is not sampled since
	r.Sample("shop", "web.1", 0.25, 1500)
	r.Sample("shop", "worker.1", 0.5, 2000)
	r.Add(Builds, 2)
	r.Add(SSHSessions, 1)
	lines := uint64(40)
	r.CountFrom(LogLines, func() uint64 { return lines })
	r.Add(LogLines, 2)

	fams := scrape(t, r)
	for name, want := range map[string]float64{
		"paas_builds_total": 2, "paas_deploys_total": 0, "paas_deploy_failures_total": 0, "paas_restarts_total": 0,
		"paas_ssh_sessions_total": 1, "paas_log_lines_total": 42, "paas_drain_dropped_lines_total": 0,
	} {
		f := fams[name]
		if f.GetType() != dto.MetricType_COUNTER || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetCounter().GetValue() != want {
			t.Errorf("%s: %v, want counter %v", name, f, want)
		}
	}
	for class, want := range map[string]float64{"2xx": 2, "3xx": 0, "4xx": 0, "5xx": 1, "other": 1} {
		m := series(fams, "paas_app_requests_total", map[string]string{"app": "shop", "process_type": "web", "status_class": class})
		if len(m) != 1 || m[0].GetCounter().GetValue() != want {
			t.Errorf("requests %s: %v, want %v", class, m, want)
		}
	}
	h := series(fams, "paas_app_request_duration_seconds", map[string]string{"app": "shop"})
	if len(h) != 1 {
		t.Fatalf("latency histograms %v", h)
	}
	hist := h[0].GetHistogram()
	if hist.GetSampleCount() != 4 || hist.GetSampleSum() < 20.3 || hist.GetSampleSum() > 20.31 {
		t.Errorf("latency count %d sum %v", hist.GetSampleCount(), hist.GetSampleSum())
	}
	for _, b := range hist.GetBucket() {
		want := map[float64]uint64{0.005: 2, 0.01: 2, 0.25: 2, 0.5: 3, 10: 3}[b.GetUpperBound()]
		if want != 0 && b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	cpu := series(fams, "paas_instance_cpu_cores", map[string]string{"app": "shop"})
	mem := series(fams, "paas_instance_memory_bytes", map[string]string{"app": "shop", "process_type": "web", "instance": "web.1"})
	if len(cpu) != 2 || len(mem) != 1 || mem[0].GetGauge().GetValue() != 1500 {
		t.Errorf("cpu %v, memory %v", cpu, mem)
	}
	if s := series(fams, "paas_instance_memory_bytes", map[string]string{"app": "gone"}); len(s) != 0 {
		t.Errorf("an instance not sampled for 3 minutes is shown: %v", s)
	}
	// Forgotten apps leave /metrics.
	r.Forget("shop")
	if s := series(scrape(t, r), "paas_app_requests_total", map[string]string{"app": "shop"}); len(s) != 0 {
		t.Errorf("a forgotten app is shown: %v", s)
	}
}

// usages is a UsageSource of set samples, one slice per call.
type usages struct{ rounds [][]Usage }

func (u *usages) Usage(context.Context) ([]Usage, error) {
	us := u.rounds[0]
	u.rounds = u.rounds[1:]
	return us, nil
}

func TestSamplerMeasuresCPUBetweenSamples(t *testing.T) {
	c := newClock(t0)
	r := NewRegistry(c.now)
	src := &usages{rounds: [][]Usage{
		{{ID: "a", App: "shop", Instance: "web.1", CPU: 10 * time.Second, Memory: 100}},
		{{ID: "a", App: "shop", Instance: "web.1", CPU: 15 * time.Second, Memory: 300}},
		// web.1 restarted: a new ID, its CPU time from zero.
		{{ID: "b", App: "shop", Instance: "web.1", CPU: time.Second, Memory: 200}},
	}}
	s := NewSampler(r, src, nil)
	s.Sample(context.Background())
	if in := r.Instances("shop"); len(in) != 1 || in[0].Memory != 100 || in[0].CPU != 0 {
		t.Fatalf("after one sample: %+v", in)
	}
	c.add(10 * time.Second)
	s.Sample(context.Background())
	if in := r.Instances("shop"); in[0].CPU != 0.5 || in[0].Memory != 300 {
		t.Errorf("5 s of CPU in 10 s: %+v", in)
	}
	c.add(10 * time.Second)
	s.Sample(context.Background())
	if in := r.Instances("shop"); in[0].CPU != 0.5 || in[0].Memory != 200 {
		t.Errorf("after a restart: %+v, want the CPU of the last interval measured kept", in)
	}
	cpu := chart(r.Charts("shop", time.Hour), "cpu")
	if p := line(cpu, "web.1").Points; len(p) != 1 || p[0].V != 0.5 {
		t.Errorf("cpu points %+v", p)
	}
}
