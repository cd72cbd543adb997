// Command faults measures what paas keeps through the faults a production
// host does to it: for each fault it prints the time until every app
// answers again, the requests that failed while it lasted, the requests
// answered by the wrong app (which must be 0), and the acknowledged
// writes lost (which must be 0).
//
// Each fault lives in a file of its own, which registers it in init; a
// fault starts its own paasd (and, where it needs one, its own Docker
// engine) in the workspace, so faults do not disturb each other or the
// host's engine.
//
//	go run ./bench/faults [-only NAME,...] [-out FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"paas/bench/internal/paasd"
	"paas/bench/internal/results"
)

// outcome is what one run of a fault kept and lost.
type outcome struct {
	// Recovery is the time from the fault (its end, for a fault that
	// lasts) until every app answers again.
	Recovery time.Duration
	// Requests is how many requests the per-app pollers sent while the
	// fault lasted; Failed how many of them got no answer from their
	// app; Wrong how many were answered by another app.
	Requests, Failed, Wrong int
	// Acked is how many writes paasd acknowledged before the fault;
	// Lost how many of them were missing afterwards.
	Acked, Lost int
	// Note says what the row measured, in a few words.
	Note string
}

// fault is one fault the benchmark can cause.
type fault struct {
	name string
	run  func(ctx context.Context, ws *paasd.Workspace) ([]outcome, error)
}

// faults are registered by the files of the package, in init.
var faults []fault

func register(name string, run func(ctx context.Context, ws *paasd.Workspace) ([]outcome, error)) {
	faults = append(faults, fault{name, run})
}

func main() {
	only := flag.String("only", "", "comma-separated faults to run (default: all)")
	results.Main("faults", func(ctx context.Context, w *results.Table) error {
		ws, err := paasd.NewWorkspace(ctx, "paas-bench-faults")
		if err != nil {
			return err
		}
		defer ws.Close()
		slices.SortFunc(faults, func(a, b fault) int { return strings.Compare(a.name, b.name) })
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%-22s %10s %9s %7s %6s %6s %5s  %s\n", "fault", "recovery", "requests", "failed", "wrong", "acked", "lost", "note")
		for _, f := range faults {
			if *only != "" && !slices.Contains(strings.Split(*only, ","), f.name) {
				continue
			}
			outs, err := f.run(ctx, ws)
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			for _, o := range outs {
				fmt.Fprintf(w, "%-22s %10s %9d %7d %6d %6d %5d  %s\n", f.name, o.Recovery.Round(time.Millisecond), o.Requests, o.Failed, o.Wrong, o.Acked, o.Lost, o.Note)
			}
		}
		return w.Save()
	})
}
