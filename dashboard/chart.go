package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
	"time"

	"paas/metrics"
)

// Charts are drawn as inline SVG on the server: one polyline per line,
// a dashed vertical rule per mark (a release), the y axis from 0 to the
// largest value. A chart with no points says so.

const (
	chartW, chartH = 600, 160
	padL, padR     = 56, 8
	padT, padB     = 8, 20
)

// chartColors cycle over a chart's lines; each has enough contrast on
// white.
var chartColors = []string{"#1f5fbf", "#b3261e", "#1b7f3b", "#8a4b00", "#6b2fa3", "#006d77"}

// chartSVG draws c.
func chartSVG(c metrics.Chart) template.HTML {
	var b strings.Builder
	title := html.EscapeString(c.Title)
	fmt.Fprintf(&b, `<figure class="chart"><figcaption>%s <span class="unit">(%s)</span></figcaption>`, title, html.EscapeString(c.Unit))
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="%s" preserveAspectRatio="none">`, chartW, chartH, title)
	t0, t1, vmax, n := chartBounds(c)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="empty">no data yet</text></svg></figure>`, chartW/2, chartH/2)
		return template.HTML(b.String())
	}
	if vmax <= 0 {
		vmax = 1
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Minute
		t0 = t0.Add(-span)
	}
	x := func(t time.Time) float64 {
		return padL + float64(t.Sub(t0))/float64(span)*float64(chartW-padL-padR)
	}
	y := func(v float64) float64 {
		return padT + (1-v/vmax)*float64(chartH-padT-padB)
	}
	// Axes and the largest value.
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%s</text>`, padL-4, padT+8, html.EscapeString(formatValue(vmax, c.Unit)))
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">0</text>`, padL-4, chartH-padB)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d">%s</text>`, padL, chartH-4, t0.UTC().Format("15:04"))
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%s</text>`, chartW-padR, chartH-4, t1.UTC().Format("15:04"))
	for _, m := range c.Marks {
		if m.T.Before(t0) || m.T.After(t1) {
			continue
		}
		mx := x(m.T)
		fmt.Fprintf(&b, `<line class="mark" x1="%.1f" y1="%d" x2="%.1f" y2="%d"><title>%s</title></line>`, mx, padT, mx, chartH-padB, html.EscapeString(m.Label))
		fmt.Fprintf(&b, `<text class="mark-label" x="%.1f" y="%d">%s</text>`, mx+2, padT+8, html.EscapeString(m.Label))
	}
	for i, l := range c.Lines {
		if len(l.Points) == 0 {
			continue
		}
		color := chartColors[i%len(chartColors)]
		pts := make([]string, 0, len(l.Points))
		for _, p := range l.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.T), y(p.V)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"><title>%s</title></polyline>`, color, strings.Join(pts, " "), html.EscapeString(l.Name))
	}
	b.WriteString(`</svg><ul class="legend">`)
	for i, l := range c.Lines {
		last := "–"
		if n := len(l.Points); n > 0 {
			last = formatValue(l.Points[n-1].V, c.Unit)
		}
		fmt.Fprintf(&b, `<li><svg class="swatch" width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="%s"/></svg>%s: %s</li>`, chartColors[i%len(chartColors)], html.EscapeString(l.Name), html.EscapeString(last))
	}
	b.WriteString(`</ul></figure>`)
	return template.HTML(b.String())
}

// chartBounds are the time span of c's points and marks and its largest
// value; n counts the points.
func chartBounds(c metrics.Chart) (t0, t1 time.Time, vmax float64, n int) {
	see := func(t time.Time) {
		if t0.IsZero() || t.Before(t0) {
			t0 = t
		}
		if t.After(t1) {
			t1 = t
		}
	}
	for _, l := range c.Lines {
		for _, p := range l.Points {
			see(p.T)
			vmax = max(vmax, p.V)
			n++
		}
	}
	return t0, t1, vmax, n
}

// formatValue shows v in unit.
func formatValue(v float64, unit string) string {
	switch unit {
	case "bytes":
		return humanBytes(v)
	case "s":
		if v < 1 {
			return strconv.FormatFloat(v*1000, 'f', 0, 64) + " ms"
		}
		return strconv.FormatFloat(v, 'f', 2, 64) + " s"
	case "cores":
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
