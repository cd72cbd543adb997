package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"time"

	"paas"
)

// buildJSON is one build as `builds --json` prints it (docs/json.md).
type buildJSON struct {
	Number     int        `json:"number"`
	Status     string     `json:"status"`
	Commit     string     `json:"commit"`
	By         string     `json:"by"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Duration   *float64   `json:"duration"`
	Buildpacks []string   `json:"buildpacks"`
	Failure    string     `json:"failure"`
}

// buildTimes returns when b started and finished and how long it took;
// nil for what is not known (a build still running has not finished, an
// old record has no start).
func buildTimes(b paas.Build) (started, finished *time.Time, took *time.Duration) {
	if !b.StartedAt.IsZero() {
		t := b.StartedAt.UTC()
		started = &t
	}
	if b.Status != paas.StatusPending && !b.CreatedAt.IsZero() {
		t := b.CreatedAt.UTC()
		finished = &t
	}
	if started != nil && finished != nil {
		d := finished.Sub(*started)
		took = &d
	}
	return started, finished, took
}

// cmdBuilds lists the app's builds, newest first: `builds APP [--json]`.
func cmdBuilds(s *Server, r *request, app string, args []string) error {
	fl, rest, err := parseFlags(args, map[string]bool{"--json": false})
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("builds"))
	}
	builds, err := s.cfg.Platform.Builds(r.ctx, app)
	if err != nil {
		return err
	}
	if _, ok := fl["--json"]; ok {
		out := make([]buildJSON, 0, len(builds))
		for _, b := range builds {
			started, finished, took := buildTimes(b)
			j := buildJSON{
				Number: b.Number, Status: b.Status, Commit: b.Commit, By: b.By,
				StartedAt: started, FinishedAt: finished,
				Buildpacks: b.Buildpacks, Failure: b.Failure,
			}
			if j.Buildpacks == nil {
				j.Buildpacks = []string{}
			}
			if took != nil {
				secs := took.Seconds()
				j.Duration = &secs
			}
			out = append(out, j)
		}
		return json.NewEncoder(r.stdout).Encode(out)
	}
	if len(builds) == 0 {
		fmt.Fprintf(r.stderr, "%s has no builds yet\n", app)
		return nil
	}
	w := bufio.NewWriter(r.stdout)
	fmt.Fprintf(w, buildRow, "BUILD", "STATUS", "DURATION", "COMMIT", "BY", "STARTED")
	now := s.now()
	for _, b := range builds {
		started, _, took := buildTimes(b)
		dur := "-"
		switch {
		case took != nil:
			dur = formatDuration(*took)
		case b.Status == paas.StatusPending && started != nil:
			dur = formatDuration(now.Sub(*started)) + "+"
		}
		when := b.StartedAt
		if when.IsZero() {
			when = b.CreatedAt
		}
		fmt.Fprintf(w, buildRow, fmt.Sprint(b.Number), b.Status, dur, orDash(shortSHA(b.Commit)), cut(orDash(printable(b.By)), 12), formatTime(when))
	}
	return w.Flush()
}

// buildRow is a row of the builds table: at most 78 columns.
const buildRow = "%-5s  %-9s  %8s  %-7s  %-12s  %s\n"

// shortSHA is a commit's first seven hex digits.
func shortSHA(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

// cut shortens s to at most n bytes, marking a cut with "~".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "~"
}

// formatDuration renders a build's duration: 850ms, 42s, 3m05s, 1h02m.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
