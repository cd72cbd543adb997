package dashboard

import (
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
	"time"

	"paas/metrics"
)

func TestChartSVG(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	pts := func(vs ...float64) []metrics.Point {
		var p []metrics.Point
		for i, v := range vs {
			p = append(p, metrics.Point{T: t0.Add(time.Duration(i) * time.Minute), V: v})
		}
		return p
	}
	c := metrics.Chart{
		Key: "requests", Title: "Requests <all>", Unit: "req/min",
		Lines: []metrics.Line{
			{Name: "2xx", Points: pts(10, 20, 40)},
			{Name: "5xx", Points: pts(0, 1, 0)},
			{Name: "4xx"}, // empty series
		},
		Marks: []metrics.Mark{
			{T: t0.Add(time.Minute), Label: "v12"},
			{T: t0.Add(-time.Hour), Label: "v11"}, // outside the window
		},
	}
	svg := string(chartSVG(c))
	// Well-formed markup, the title escaped.
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, svg)
	}
	if !strings.Contains(svg, "Requests &lt;all&gt;") || strings.Contains(svg, "<all>") {
		t.Errorf("title not escaped:\n%s", svg)
	}
	polys := regexp.MustCompile(`<polyline [^>]*points="([^"]+)"`).FindAllStringSubmatch(svg, -1)
	if len(polys) != 2 {
		t.Fatalf("%d polylines, want 2 (the empty series draws none)", len(polys))
	}
	// x runs from the left padding to the right edge; the largest value
	// (40) is at the top, 0 on the axis.
	if got := polys[0][1]; got != "56.0,107.0 324.0,74.0 592.0,8.0" {
		t.Errorf("2xx points %q", got)
	}
	if got := polys[1][1]; got != "56.0,140.0 324.0,136.7 592.0,140.0" {
		t.Errorf("5xx points %q", got)
	}
	marks := regexp.MustCompile(`<line class="mark" x1="([0-9.]+)"`).FindAllStringSubmatch(svg, -1)
	if len(marks) != 1 || marks[0][1] != "324.0" || !strings.Contains(svg, ">v12</text>") || strings.Contains(svg, "v11") {
		t.Errorf("marks %v:\n%s", marks, svg)
	}
	if !strings.Contains(svg, "2xx: 40") || !strings.Contains(svg, "4xx: –") {
		t.Errorf("legend:\n%s", svg)
	}
}

func TestChartSVGWithoutPoints(t *testing.T) {
	svg := string(chartSVG(metrics.Chart{Key: "cpu", Title: "CPU", Unit: "cores", Lines: []metrics.Line{{Name: "web.1"}}, Marks: []metrics.Mark{{T: time.Now(), Label: "v1"}}}))
	if !strings.Contains(svg, "no data yet") || strings.Contains(svg, "<polyline") {
		t.Errorf("empty chart:\n%s", svg)
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	// One point: a span of a minute, not a division by zero.
	one := string(chartSVG(metrics.Chart{Title: "Memory", Unit: "bytes", Lines: []metrics.Line{{Name: "web.1", Points: []metrics.Point{{T: time.Now(), V: 3 << 20}}}}}))
	if strings.Contains(one, "NaN") || strings.Contains(one, "Inf") || !strings.Contains(one, "3.0 MiB") {
		t.Errorf("one point:\n%s", one)
	}
}

// fakeMetrics answers with fixed charts.
type fakeMetrics struct{ charts []metrics.Chart }

func (m fakeMetrics) Summary(app string) metrics.AppSummary {
	return metrics.AppSummary{RequestsPerMin: 12.5, ErrorRate: 0.02}
}
func (m fakeMetrics) Charts(app string, window time.Duration) []metrics.Chart { return m.charts }

func TestPagesWithAndWithoutMetrics(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	if body := f.do("GET", "/apps/shop", c, nil, nil).Body.String(); !strings.Contains(body, "No metrics yet") {
		t.Errorf("nil Metrics: overview says nothing of it")
	}
	if body := f.do("GET", "/", c, nil, nil).Body.String(); !strings.Contains(body, "no metrics yet") {
		t.Errorf("nil Metrics: apps list says nothing of it")
	}
	now := time.Now()
	f.h.cfg.Metrics = fakeMetrics{charts: []metrics.Chart{
		{Key: "requests", Title: "Requests", Unit: "req/min", Lines: []metrics.Line{{Name: "2xx", Points: []metrics.Point{{T: now, V: 3}}}}},
		{Key: "cpu", Title: "CPU", Unit: "cores", Lines: []metrics.Line{{Name: "web.1", Points: []metrics.Point{{T: now, V: 0.25}}}}},
		{Key: "memory", Title: "Memory", Unit: "bytes", Lines: []metrics.Line{{Name: "web.1", Points: []metrics.Point{{T: now, V: 64 << 20}}}}},
	}}
	body := f.do("GET", "/apps/shop", c, nil, nil).Body.String()
	if !strings.Contains(body, "<svg") || !strings.Contains(body, "12.5") || !strings.Contains(body, "2.0%") {
		t.Errorf("overview with metrics:\n%s", body)
	}
	if body := f.do("GET", "/apps/shop/formation", c, nil, nil).Body.String(); !strings.Contains(body, "64.0 MiB") || !strings.Contains(body, "0.25 cores") {
		t.Errorf("formation with metrics:\n%s", body)
	}
}
