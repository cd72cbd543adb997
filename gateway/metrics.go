package gateway

import (
	"fmt"
	"strconv"
	"time"

	"paas"
	"paas/metrics"
)

// MetricsSource is what `metrics` reads: the router's and the runtime's
// series of an app (*metrics.Registry).
type MetricsSource interface {
	// Summary is the app's traffic over the last five minutes.
	Summary(app string) metrics.AppSummary
	// Charts are the app's charts over the last window.
	Charts(app string, window time.Duration) []metrics.Chart
	// Instances are the newest CPU and memory samples of the app's
	// running instances.
	Instances(app string) []metrics.InstanceUsage
}

// defaultMetricsWindow is what `metrics` shows without --since.
const defaultMetricsWindow = time.Hour

// cmdMetrics shows an app's metrics: its traffic over the last five
// minutes, each instance's CPU and memory now, and a row a minute (those
// with requests) over the window; with --json, the charts.
func cmdMetrics(s *Server, r *request, app string, args []string) error {
	fl, rest, asJSON, err := listFlags(args, map[string]bool{"--since": true})
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("metrics"))
	}
	window := defaultMetricsWindow
	if v, ok := fl["--since"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < metrics.Resolution || d > metrics.Retention {
			return paas.Errorf("--since wants a duration from 1m to 24h, such as 30m or 6h, not %q", printable(v))
		}
		window = d
	}
	if _, err := s.cfg.Platform.App(r.ctx, app); err != nil {
		return err
	}
	if s.cfg.Metrics == nil {
		return paas.Errorf("this server keeps no metrics")
	}
	charts := s.cfg.Metrics.Charts(app, window)
	if asJSON {
		return writeJSON(r, charts)
	}
	sum := s.cfg.Metrics.Summary(app)
	fmt.Fprintf(r.stdout, "%s: %s requests/min, %s errors (5xx) over the last 5 minutes\n",
		app, strconv.FormatFloat(sum.RequestsPerMin, 'f', 1, 64), formatPercent(sum.ErrorRate))

	insts := s.cfg.Metrics.Instances(app)
	if len(insts) > 0 {
		fmt.Fprintln(r.stdout)
		t := newTable("INSTANCE", "CPU", "MEMORY")
		for _, in := range insts {
			t.row(in.Instance, strconv.FormatFloat(in.CPU, 'f', 2, 64), formatBytes(int64(in.Memory)))
		}
		if err := t.write(r.stdout); err != nil {
			return err
		}
	}

	rows := minuteRows(charts)
	if len(rows) == 0 {
		fmt.Fprintf(r.stdout, "\nno requests in the last %s\n", formatWindow(window))
		return nil
	}
	fmt.Fprintln(r.stdout)
	t := newTable("MINUTE", "REQUESTS", "2XX", "3XX", "4XX", "5XX", "P50", "P95", "P99")
	for _, row := range rows {
		t.row(append([]string{row.t.Format("15:04")}, row.cells...)...)
	}
	return t.write(r.stdout)
}

// minuteRow is one minute of the table: its time and cells after it.
type minuteRow struct {
	t     time.Time
	cells []string
}

// minuteRows turns the requests and latency charts into a row for each
// minute with requests, oldest first.
func minuteRows(charts []metrics.Chart) []minuteRow {
	var req, lat *metrics.Chart
	for i := range charts {
		switch charts[i].Key {
		case "requests":
			req = &charts[i]
		case "latency":
			lat = &charts[i]
		}
	}
	if req == nil || len(req.Lines) == 0 {
		return nil
	}
	latAt := map[time.Time][]float64{}
	if lat != nil {
		for _, l := range lat.Lines {
			for _, p := range l.Points {
				latAt[p.T] = append(latAt[p.T], p.V)
			}
		}
	}
	var rows []minuteRow
	for i, p := range req.Lines[0].Points {
		var total float64
		cells := []string{""}
		for _, l := range req.Lines {
			v := 0.0
			if i < len(l.Points) {
				v = l.Points[i].V
			}
			total += v
			cells = append(cells, strconv.FormatFloat(v, 'f', 0, 64))
		}
		if total == 0 {
			continue
		}
		cells[0] = strconv.FormatFloat(total, 'f', 0, 64)
		for _, v := range latAt[p.T] {
			cells = append(cells, formatSeconds(v))
		}
		rows = append(rows, minuteRow{p.T, cells})
	}
	return rows
}

// formatPercent shows a share 0..1 as a percentage: "0.5%".
func formatPercent(v float64) string {
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

// formatSeconds shows a latency: "850µs", "2.5ms", "12ms", "1.5s".
func formatSeconds(v float64) string {
	d := time.Duration(v * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	case d < time.Second:
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

// formatWindow shows a window as the user would write it: "1h", "30m".
func formatWindow(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/time.Minute)) + "m"
}
