package main

import (
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
}

// add adds the timeline printed in out.
func (p *phases) add(out string) {
	if p.took == nil {
		p.took = map[string][]time.Duration{}
	}
	for _, m := range timingLine.FindAllStringSubmatch(out, -1) {
		d, err := time.ParseDuration(m[2])
		if err != nil {
			continue
		}
		name := m[1]
		if _, ok := p.took[name]; !ok {
			p.order = append(p.order, name)
		}
		p.took[name] = append(p.took[name], d)
	}
}

// column is one column of the phase table: a runtime and app, and what
// its operations printed.
type column struct {
	name   string
	phases phases
}

// printPhases prints the p50 of every phase for each column, phases in
// the order they first appear.
func printPhases(w io.Writer, title string, cols []column) {
	var order []string
	for _, c := range cols {
		for _, n := range c.phases.order {
			if !slices.Contains(order, n) {
				order = append(order, n)
			}
		}
	}
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
