package gateway

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"paas/metrics"
)

// metricsFixture is a registry with traffic and instances of web-app,
// read at a fixed time.
func metricsFixture() *metrics.Registry {
	now := time.Date(2026, 11, 26, 10, 3, 30, 0, time.UTC)
	clock := now.Add(-2 * time.Minute)
	reg := metrics.NewRegistry(func() time.Time { return clock })
	for i := range 20 {
		status := 200
		if i == 0 {
			status = 503
		}
		reg.Request("web-app", status, time.Duration(10+i)*time.Millisecond)
	}
	reg.Release("web-app", 2, clock)
	clock = now
	reg.Request("web-app", 404, 2*time.Millisecond)
	reg.Sample("web-app", "web.1", 0.25, 48<<20)
	reg.Sample("web-app", "worker.1", 1.5, 1<<30)
	return reg
}

func TestMetricsCommand(t *testing.T) {
	s, _ := newTestServer(t)
	s.cfg.Metrics = metricsFixture()

	r := run(s, "metrics", "web-app")
	if r.status != 0 || r.stderr != "" {
		t.Fatalf("metrics: %+v", r)
	}
	for _, want := range []string{
		"web-app: 4.7 requests/min, 4.8% errors (5xx) over the last 5 minutes\n",
		"INSTANCE  CPU   MEMORY\nweb.1     0.25  48.0 MiB\nworker.1  1.50  1.0 GiB\n",
		"MINUTE  REQUESTS  2XX  3XX  4XX  5XX  P50    P95    P99\n" +
			"10:01   20        19   0    0    1    19ms   28ms   30ms\n" +
			"10:03   1         0    0    1    0    2.0ms  2.0ms  2.0ms\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("metrics output lacks %q:\n%s", want, r.stdout)
		}
	}

	// --json: the charts, each with the release marked.
	r = run(s, "metrics", "web-app", "--json", "--since", "10m")
	var charts []metrics.Chart
	if err := json.Unmarshal([]byte(r.stdout), &charts); r.status != 0 || err != nil {
		t.Fatalf("metrics --json: %+v: %v", r, err)
	}
	var keys []string
	for _, c := range charts {
		keys = append(keys, c.Key)
		if len(c.Marks) != 1 || c.Marks[0].Label != "v2" {
			t.Errorf("%s marks %+v", c.Key, c.Marks)
		}
	}
	if strings.Join(keys, " ") != "requests latency cpu memory" {
		t.Errorf("chart keys %q", keys)
	}
	if n := len(charts[0].Lines[0].Points); n != 10 {
		t.Errorf("10 minutes of requests have %d points", n)
	}

	// An app without traffic says so.
	r = run(s, "metrics", "web-app", "--since", "1m")
	if r.status != 0 || !strings.Contains(r.stdout, "web-app: 4.7 requests/min") {
		t.Errorf("a minute: %+v", r)
	}
	s.cfg.Metrics = metrics.NewRegistry(nil)
	r = run(s, "metrics", "web-app")
	if r.status != 0 || r.stdout != "web-app: 0.0 requests/min, 0.0% errors (5xx) over the last 5 minutes\n\nno requests in the last 1h\n" {
		t.Errorf("no traffic: %+v", r)
	}
}

func TestMetricsCommandRefuses(t *testing.T) {
	s, _ := newTestServer(t)
	s.cfg.Metrics = metricsFixture()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"metrics", "no-such-app"}, "paas: app no-such-app not found\n"},
		{[]string{"metrics", "web-app", "--since", "2d"}, "paas: --since wants a duration from 1m to 24h, such as 30m or 6h, not \"2d\"\n"},
		{[]string{"metrics", "web-app", "--since", "25h"}, "paas: --since wants a duration from 1m to 24h, such as 30m or 6h, not \"25h\"\n"},
		{[]string{"metrics", "web-app", "extra"}, "paas: usage: metrics APP\n"},
	} {
		if r := run(s, c.args...); r.status != 1 || r.stdout != "" || r.stderr != c.want {
			t.Errorf("%q: %+v, want %q", c.args, r, c.want)
		}
	}
	s.cfg.Metrics = nil
	if r := run(s, "metrics", "web-app"); r.status != 1 || r.stderr != "paas: this server keeps no metrics\n" {
		t.Errorf("without metrics: %+v", r)
	}
}
