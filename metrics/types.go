// Package metrics keeps what paas measures of each app: the router's
// requests per process type (count, status classes, latency) and the
// runtime's CPU and memory per instance, at one-minute resolution for the
// last 24 hours, in bounded memory. It answers the dashboard's charts and
// `paas metrics`, and serves the same series with the platform's own
// counters in Prometheus' text format.
package metrics

import "time"

// Resolution is the width of one stored point.
const Resolution = time.Minute

// Retention is how far back points are kept.
const Retention = 24 * time.Hour

// Point is one minute of one series: T is the minute's start (UTC); V its
// value (a count for counters, seconds for latencies, a fraction of one
// core for CPU, bytes for memory).
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Line is one series of a chart, e.g. "web p95" or "web.1".
type Line struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Mark is a moment drawn on every chart: a release that went live.
type Mark struct {
	T     time.Time `json:"t"`
	Label string    `json:"label"` // "v12"
}

// Chart is what one small chart shows.
type Chart struct {
	// Key names the chart for scripts: "requests", "errors", "latency",
	// "cpu", "memory".
	Key   string `json:"key"`
	Title string `json:"title"`
	// Unit is how to read V: "req/min", "s", "cores", "bytes".
	Unit  string `json:"unit"`
	Lines []Line `json:"lines"`
	Marks []Mark `json:"marks"`
}

// AppSummary is an app's traffic over the last five minutes, for the apps
// list.
type AppSummary struct {
	// RequestsPerMin is the mean number of requests a minute.
	RequestsPerMin float64 `json:"requests_per_min"`
	// ErrorRate is the share of those answered with a 5xx status, 0..1.
	ErrorRate float64 `json:"error_rate"`
}
