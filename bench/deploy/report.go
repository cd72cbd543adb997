package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

func writeHeader(w io.Writer, redeploys, conns int) {
	fmt.Fprintf(w, "\n%d redeploys (git push of a changed commit) under load: %d keep-alive connections through the router\n", redeploys, conns)
	fmt.Fprintf(w, "switch = first response from the new release minus the end of git push (negative: before git push returned)\n")
	fmt.Fprintf(w, "%-8s %10s %8s %11s %11s %11s\n", "runtime", "requests", "failed", "switch p50", "switch max", "push p50")
}

// writeRow prints m's row and returns the lines that explain its failures.
func writeRow(w io.Writer, m measurement) (details []string) {
	fmt.Fprintf(w, "%-8s %10d %8d %11s %11s %11s", m.runtime, m.load.Requests, m.load.Failures,
		ms(p50(m.switches)), ms(maxOf(m.switches)), ms(p50(m.pushes)))
	if m.err != nil {
		fmt.Fprintf(w, "  (stopped after %d redeploys: see below)", len(m.switches))
		details = append(details, fmt.Sprintf("%s: %v", m.runtime, m.err))
	}
	fmt.Fprintln(w)
	if m.load.Failures > 0 {
		details = append(details, m.runtime+" failures: "+failureSummary(m.load.ByStatus, m.load.Errors))
	}
	return details
}

func writeDetails(w io.Writer, details []string) {
	for _, d := range details {
		fmt.Fprintf(w, "\n%s\n", d)
	}
}

// failureSummary lists failed statuses and transport errors, most
// frequent first.
func failureSummary(byStatus map[int]int64, errs map[string]int64) string {
	type count struct {
		what string
		n    int64
	}
	var all []count
	for status, n := range byStatus {
		if status < 200 || status >= 400 {
			all = append(all, count{fmt.Sprintf("HTTP %d", status), n})
		}
	}
	for _, text := range slices.Sorted(maps.Keys(errs)) {
		all = append(all, count{fmt.Sprintf("%q", text), errs[text]})
	}
	slices.SortStableFunc(all, func(a, b count) int { return cmp.Compare(b.n, a.n) })
	var parts []string
	for _, c := range all {
		parts = append(parts, fmt.Sprintf("%s x%d", c.what, c.n))
	}
	return strings.Join(parts, ", ")
}

// ms formats d in milliseconds, "-" for no value.
func ms(d *time.Duration) string {
	if d == nil {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

func p50(ds []time.Duration) *time.Duration {
	if len(ds) == 0 {
		return nil
	}
	s := slices.Sorted(slices.Values(ds))
	return &s[len(s)/2]
}

func maxOf(ds []time.Duration) *time.Duration {
	if len(ds) == 0 {
		return nil
	}
	m := slices.Max(ds)
	return &m
}
