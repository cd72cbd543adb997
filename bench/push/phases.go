package main

import (
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// timingLine is a phase line of paasd's timeline (PAAS_DEBUG_TIMING=1),
// as git shows it with "remote: " before it, or as ssh does without.
var timingLine = regexp.MustCompile(`(?m)^(?:remote: )?-----> timing (.+?)\s+(\S+)\s*$`)

// phases collects the phase durations of several operations.
type phases struct {
	order []string
	took  map[string][]time.Duration
	// at sums each phase's place in its timeline, from 0 (first) to 1
	// (last), to order the phases of several timelines.
	at map[string]float64
}

// add adds the timeline printed in out.
func (p *phases) add(out string) {
	if p.took == nil {
		p.took = map[string][]time.Duration{}
		p.at = map[string]float64{}
	}
	ms := timingLine.FindAllStringSubmatch(out, -1)
	for i, m := range ms {
		d, err := time.ParseDuration(m[2])
		if err != nil {
			continue
		}
		name := m[1]
		if _, ok := p.took[name]; !ok {
			p.order = append(p.order, name)
		}
		p.took[name] = append(p.took[name], d)
		p.at[name] += float64(i) / float64(max(len(ms)-1, 1))
	}
}

// column is one column of the phase table: a runtime and app, and what
// its operations printed.
type column struct {
	name   string
	phases phases
}

// printPhases prints the p50 of every phase for each column, phases in
// the order of their mean place in their timelines.
func printPhases(w io.Writer, title string, cols []column) {
	var order []string
	at := map[string]float64{}
	for _, c := range cols {
		for _, n := range c.phases.order {
			if !slices.Contains(order, n) {
				order = append(order, n)
			}
			at[n] += c.phases.at[n] / float64(len(c.phases.took[n]))
		}
	}
	seen := map[string]int{}
	for _, c := range cols {
		for _, n := range c.phases.order {
			seen[n]++
		}
	}
	slices.SortStableFunc(order, func(a, b string) int {
		return cmp.Compare(at[a]/float64(seen[a]), at[b]/float64(seen[b]))
	})
	if len(order) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n%-26s", title, "phase")
	for _, c := range cols {
		fmt.Fprintf(w, " %14s", c.name)
	}
	fmt.Fprintln(w)
	for _, n := range order {
		fmt.Fprintf(w, "%-26s", strings.TrimSpace(n))
		for _, c := range cols {
			if ds := c.phases.took[n]; len(ds) > 0 {
				fmt.Fprintf(w, " %14s", ms(p50(ds)))
			} else {
				fmt.Fprintf(w, " %14s", "-")
			}
		}
		fmt.Fprintln(w)
	}
}
