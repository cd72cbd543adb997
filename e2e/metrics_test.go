package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"paas/metrics"
)

// TestMetrics deploys an app, sends it requests through the router, and
// reads them back: from `paas metrics` (text and --json) and from
// /metrics on PAAS_METRICS_ADDR, parsed with Prometheus' text parser,
// with the platform's counters and the instance's memory. A rename
// carries the app's series to the new name; a destroy drops them.
func TestMetrics(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_METRICS_ADDR=127.0.0.1:0")
	addr := metricsAddr(t, s)
	before := scrape(t, addr)

	const app, renamed = "metrics-e2e", "metrics-e2e2"
	dir := s.newRepo("python", app)
	requireOK(t, "push", s.push(dir, "paas", "main"))
	const sent = 25
	for range sent {
		s.mustGet(app, "/", "hello one from web.1")
	}
	if code, _, _ := s.get(app, "/"); code != 200 {
		t.Fatalf("GET: %d", code)
	}

	r := s.paas(dir, "", "metrics")
	requireOK(t, "metrics", r)
	if !strings.Contains(r.stdout, app+": ") || !strings.Contains(r.stdout, "requests/min") || !strings.Contains(r.stdout, "MINUTE  REQUESTS") {
		t.Errorf("paas metrics:\n%s", r.stdout)
	}
	r = s.paas(dir, "", "metrics", "--json")
	requireOK(t, "metrics --json", r)
	var charts []metrics.Chart
	if err := json.Unmarshal([]byte(r.stdout), &charts); err != nil || len(charts) != 4 {
		t.Fatalf("metrics --json: %v\n%s", err, r.stdout)
	}
	var ok2xx float64
	for _, p := range charts[0].Lines[0].Points {
		ok2xx += p.V
	}
	if charts[0].Key != "requests" || ok2xx != sent+1 || len(charts[0].Marks) == 0 || charts[0].Marks[len(charts[0].Marks)-1].Label != "v1" {
		t.Errorf("requests chart %q: %v 2xx, marks %+v", charts[0].Key, ok2xx, charts[0].Marks)
	}

	// /metrics: the app's requests, and the platform's counters moved.
	// The sampler reads the instance within SampleInterval of its start.
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(metrics.SampleInterval + 20*time.Second)
	for {
		fams = scrape(t, addr)
		if value(fams, "paas_instance_memory_bytes", map[string]string{"app": app, "instance": "web.1"}) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no memory sample of %s web.1 in /metrics", app)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got := value(fams, "paas_app_requests_total", map[string]string{"app": app, "process_type": "web", "status_class": "2xx"}); got != sent+1 {
		t.Errorf("paas_app_requests_total 2xx = %v, want %d", got, sent+1)
	}
	if h := fams["paas_app_request_duration_seconds"]; h == nil || h.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("no latency histogram: %v", h)
	}
	if m := value(fams, "paas_instance_memory_bytes", map[string]string{"app": app, "process_type": "web", "instance": "web.1"}); m < 1<<20 {
		t.Errorf("web.1 holds %v bytes", m)
	}
	for _, name := range []string{"paas_builds_total", "paas_deploys_total", "paas_ssh_sessions_total", "paas_log_lines_total"} {
		if got, was := value(fams, name, nil), value(before, name, nil); got <= was {
			t.Errorf("%s: %v, before %v: want it moved", name, got, was)
		}
	}
	if got := value(fams, "paas_deploy_failures_total", nil); got != 0 {
		t.Errorf("paas_deploy_failures_total = %v", got)
	}

	// A rename carries the series; a destroy drops them.
	requireOK(t, "apps:rename", s.paas(dir, "", "apps:rename", renamed))
	r = s.ssh("metrics " + renamed + " --json")
	requireOK(t, "metrics after rename", r)
	if err := json.Unmarshal([]byte(r.stdout), &charts); err != nil || len(charts[0].Lines) == 0 {
		t.Fatalf("metrics --json after rename: %v\n%s", err, r.stdout)
	}
	var total float64
	for _, p := range charts[0].Lines[0].Points {
		total += p.V
	}
	if total != sent+1 {
		t.Errorf("after the rename, %v requests", total)
	}
	requireOK(t, "apps:destroy", s.ssh("apps:destroy "+renamed+" --confirm "+renamed))
	fams = scrape(t, addr)
	for _, name := range []string{app, renamed} {
		if got := value(fams, "paas_app_requests_total", map[string]string{"app": name, "status_class": "2xx"}); got != 0 {
			t.Errorf("after destroy, %s has %v requests in /metrics", name, got)
		}
	}
}

// metricsAddr is the address paasd logged it serves /metrics on.
func metricsAddr(t *testing.T, s *server) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sc := bufio.NewScanner(strings.NewReader(s.out.String()))
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "serving /metrics" {
				return fmt.Sprint(rec["addr"])
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("paasd did not say where it serves /metrics:\n%s", s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape reads /metrics and parses it with Prometheus' text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %s %s", res.Status, res.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value is the value of the first series of family name whose labels
// include want; 0 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}
