package gateway

import (
	"fmt"
	"time"

	"paas"
)

// buildJSON is one build as `builds --json` prints it (docs/json.md).
type buildJSON struct {
	Number     int      `json:"number"`
	Status     string   `json:"status"`
	Commit     *string  `json:"commit"`
	By         *string  `json:"by"`
	StartedAt  *string  `json:"started_at"`
	FinishedAt *string  `json:"finished_at"`
	Duration   *float64 `json:"duration"`
	Buildpacks []string `json:"buildpacks"`
	Failure    *string  `json:"failure"`
}

// buildTimes returns when b started and finished and how long it took;
// zero for what is not known (a build still running has not finished, an
// old record has no start), took false then.
func buildTimes(b paas.Build) (started, finished time.Time, took time.Duration, ok bool) {
	started = b.StartedAt
	if b.Status != paas.StatusPending {
		finished = b.CreatedAt
	}
	if started.IsZero() || finished.IsZero() {
		return started, finished, 0, false
	}
	return started, finished, finished.Sub(started), true
}

func toBuildJSON(b paas.Build) buildJSON {
	started, finished, took, ok := buildTimes(b)
	j := buildJSON{
		Number: b.Number, Status: b.Status, Commit: jsonString(b.Commit), By: jsonString(b.By),
		StartedAt: jsonTime(started), FinishedAt: jsonTime(finished),
		Buildpacks: nonNil(b.Buildpacks), Failure: jsonString(b.Failure),
	}
	if ok {
		secs := jsonSeconds(took)
		j.Duration = &secs
	}
	return j
}

// cmdBuilds lists the app's builds, newest first: `builds APP [--json]`.
func cmdBuilds(s *Server, r *request, app string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
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
	if len(builds) == 0 {
		return emptyListing(r, asJSON, app+" has no builds yet")
	}
	if asJSON {
		list := make([]buildJSON, 0, len(builds))
		for _, b := range builds {
			list = append(list, toBuildJSON(b))
		}
		return writeJSON(r, list)
	}
	t := newTable("BUILD", "STATUS", "DURATION", "COMMIT", "BY", "STARTED").keepWhole("BUILD", "STATUS", "DURATION", "COMMIT", "STARTED")
	now := s.now()
	for _, b := range builds {
		started, _, took, ok := buildTimes(b)
		dur := "-"
		switch {
		case ok:
			dur = formatDuration(took)
		case b.Status == paas.StatusPending && !started.IsZero():
			dur = formatDuration(now.Sub(started)) + "+"
		}
		when := b.StartedAt
		if when.IsZero() {
			when = b.CreatedAt
		}
		t.row(fmt.Sprint(b.Number), b.Status, dur, orDash(shortSHA(b.Commit)), orDash(printable(b.By)), formatTime(when))
	}
	return t.write(r.stdout)
}

// shortSHA is a commit's first seven hex digits.
func shortSHA(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
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
