package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"paas"
	"paas/logs"
)

// The pages of one app: each loader reads what its page shows through
// the Platform, after appPage has checked that the user may read the
// app.

// overviewData is the overview page's.
type overviewData struct {
	App       paas.App
	Current   *paas.Release
	Processes []paas.Process
	State     string
	Metrics   bool
	Summary   appRow
	Charts    []template.HTML
	Progress  bool
}

func (h *Handler) overview(ctx context.Context, app string, r *http.Request) (any, error) {
	a, err := h.cfg.Platform.App(ctx, app)
	if err != nil {
		return nil, err
	}
	d := overviewData{App: a, Progress: h.cfg.Progress != nil}
	ps, err := h.cfg.Platform.Processes(ctx, app)
	if err != nil {
		return nil, err
	}
	d.Processes = ps
	d.State = appState(a)
	if d.State == "" {
		d.State = processState(ps)
	}
	rs, err := h.cfg.Platform.Releases(ctx, app)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		if rs[i].Version == a.Release {
			d.Current = &rs[i]
		}
	}
	if h.cfg.Metrics != nil {
		d.Metrics = true
		sum := h.cfg.Metrics.Summary(app)
		d.Summary = appRow{ReqPerMin: sum.RequestsPerMin, ErrorRate: sum.ErrorRate}
		for _, c := range h.cfg.Metrics.Charts(app, 6*time.Hour) {
			d.Charts = append(d.Charts, chartSVG(c))
		}
	}
	return d, nil
}

// releaseRow is one release with the config keys it changed.
type releaseRow struct {
	paas.Release
	Current bool
	Added   []string
	Changed []string
	Removed []string
}

func (h *Handler) releases(ctx context.Context, app string, r *http.Request) (any, error) {
	a, err := h.cfg.Platform.App(ctx, app)
	if err != nil {
		return nil, err
	}
	rs, err := h.cfg.Platform.Releases(ctx, app)
	if err != nil {
		return nil, err
	}
	rows := make([]releaseRow, len(rs))
	for i, rel := range rs {
		row := releaseRow{Release: rel, Current: rel.Version == a.Release}
		// Releases come newest first: the one before is next.
		var prev map[string]string
		if i+1 < len(rs) {
			prev = rs[i+1].Config
		}
		row.Added, row.Changed, row.Removed = configDiff(prev, rel.Config)
		rows[i] = row
	}
	return rows, nil
}

// configDiff names the keys added, changed and removed from before to
// after, each sorted; never their values.
func configDiff(before, after map[string]string) (added, changed, removed []string) {
	for k, v := range after {
		old, ok := before[k]
		switch {
		case !ok:
			added = append(added, k)
		case old != v:
			changed = append(changed, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(changed)
	slices.Sort(removed)
	return added, changed, removed
}

// logLine is one line of an app's log as the pages show it.
type logLine struct {
	Time     string `json:"time"`
	Seq      uint64 `json:"seq"`
	Source   string `json:"source"`
	Instance string `json:"instance"`
	Release  int    `json:"release"`
	Message  string `json:"message"`
}

// readLogs returns the newest n lines of q (without following).
func (h *Handler) readLogs(ctx context.Context, app string, q logs.Query) ([]logLine, error) {
	var b bytes.Buffer
	q.Follow = false
	if err := h.cfg.Platform.Logs(ctx, app, q, logs.Format{JSON: true}, &b); err != nil {
		return nil, err
	}
	var out []logLine
	for line := range bytes.SplitSeq(b.Bytes(), []byte("\n")) {
		var l logLine
		if len(line) > 0 && json.Unmarshal(line, &l) == nil {
			out = append(out, l)
		}
	}
	return out, nil
}

func (h *Handler) activity(ctx context.Context, app string, r *http.Request) (any, error) {
	lines, err := h.readLogs(ctx, app, logs.Query{Filter: logs.Filter{Source: "paas", Proc: "api"}, N: 200})
	if err != nil {
		return nil, err
	}
	slices.Reverse(lines)
	return lines, nil
}

// instanceRow is one instance with what metrics say of it.
type instanceRow struct {
	paas.Process
	Metrics bool
	CPU     float64
	Memory  float64
}

type formationData struct {
	App       paas.App
	Types     []typeRow
	Instances []instanceRow
}

type typeRow struct {
	Type  string
	Count int
}

func (h *Handler) formation(ctx context.Context, app string, r *http.Request) (any, error) {
	a, err := h.cfg.Platform.App(ctx, app)
	if err != nil {
		return nil, err
	}
	ps, err := h.cfg.Platform.Processes(ctx, app)
	if err != nil {
		return nil, err
	}
	d := formationData{App: a}
	counts := a.Formation
	if a.Release > 0 {
		// What runs: the current release's types, web=1 by default, as
		// apps:info shows it.
		rels, err := h.cfg.Platform.Releases(ctx, app)
		if err != nil {
			return nil, err
		}
		for _, rel := range rels {
			if rel.Version == a.Release && len(rel.ProcessTypes) > 0 {
				counts = rel.Counts(a.Formation)
			}
		}
	}
	for _, t := range slices.Sorted(maps.Keys(counts)) {
		d.Types = append(d.Types, typeRow{Type: t, Count: counts[t]})
	}
	latest := map[string]map[string]float64{}
	if h.cfg.Metrics != nil {
		for _, c := range h.cfg.Metrics.Charts(app, 5*time.Minute) {
			if c.Key != "cpu" && c.Key != "memory" {
				continue
			}
			m := map[string]float64{}
			for _, l := range c.Lines {
				if n := len(l.Points); n > 0 {
					m[l.Name] = l.Points[n-1].V
				}
			}
			latest[c.Key] = m
		}
	}
	for _, p := range ps {
		row := instanceRow{Process: p}
		cpu, okC := latest["cpu"][p.Name]
		mem, okM := latest["memory"][p.Name]
		if okC || okM {
			row.Metrics, row.CPU, row.Memory = true, cpu, mem
		}
		d.Instances = append(d.Instances, row)
	}
	return d, nil
}

type configRow struct {
	Key      string
	Value    string
	Revealed bool
}

func (h *Handler) configVars(ctx context.Context, app string, r *http.Request) (any, error) {
	cfg, err := h.cfg.Platform.Config(ctx, app)
	if err != nil {
		return nil, err
	}
	reveal := r.URL.Query().Get("reveal")
	var rows []configRow
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		row := configRow{Key: k}
		if k == reveal {
			row.Value, row.Revealed = cfg[k], true
		}
		rows = append(rows, row)
	}
	return rows, nil
}

type domainsData struct {
	Domains []string
	Certs   []paas.Cert
}

func (h *Handler) domains(ctx context.Context, app string, r *http.Request) (any, error) {
	ds, err := h.cfg.Platform.Domains(ctx, app)
	if err != nil {
		return nil, err
	}
	cs, err := h.cfg.Platform.Certs(ctx, app)
	if err != nil {
		return nil, err
	}
	return domainsData{Domains: ds, Certs: cs}, nil
}

func (h *Handler) drainsPage(ctx context.Context, app string, r *http.Request) (any, error) {
	return h.cfg.Platform.Drains(ctx, app)
}

type addonsData struct {
	Unavailable bool
	Addons      []paas.Addon
}

func (h *Handler) addons(ctx context.Context, app string, r *http.Request) (any, error) {
	as, err := h.cfg.Platform.Addons(ctx, app)
	if errors.Is(err, paas.ErrAddonsUnavailable) {
		return addonsData{Unavailable: true}, nil
	}
	if err != nil {
		return nil, err
	}
	return addonsData{Addons: as}, nil
}

// Log pages render the newest lines; "older" asks for more.
const (
	logLines    = 200
	maxLogLines = 10000
)

type logsData struct {
	Lines []logLine
	N     int
	More  int // the n of the "older" link; 0 when there is no more
	Last  uint64
}

func (h *Handler) logsPage(ctx context.Context, app string, r *http.Request) (any, error) {
	n := logLines
	if v, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil && v > 0 {
		n = min(v, maxLogLines)
	}
	lines, err := h.readLogs(ctx, app, logs.Query{N: n})
	if err != nil {
		return nil, err
	}
	d := logsData{Lines: lines, N: n}
	if len(lines) == n && n < maxLogLines {
		d.More = min(n*2, maxLogLines)
	}
	for _, l := range lines {
		d.Last = max(d.Last, l.Seq)
	}
	return d, nil
}
