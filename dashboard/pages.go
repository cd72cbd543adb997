package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"paas"
	"paas/access"
	"paas/logs"
)

// pageData is what every page template gets.
type pageData struct {
	Title string
	User  string
	Admin bool
	CSRF  string
	// App and Tab name the app page shown ("" on other pages).
	App  string
	Tab  string
	Tabs []tab
	// Heading and Message are an error page's.
	Heading, Message string
	// Data is the page's own.
	Data any
}

type tab struct {
	Path, Label, Key string
}

// appPage is one page of an app.
type appPageSpec struct {
	path  string // "" for the overview, "/releases"...
	tab   string
	label string
	load  func(h *Handler, ctx context.Context, app string, r *http.Request) (any, error)
}

var appPages = []appPageSpec{
	{"", "overview", "Overview", (*Handler).overview},
	{"/releases", "releases", "Releases", (*Handler).releases},
	{"/activity", "activity", "Activity", (*Handler).activity},
	{"/formation", "formation", "Formation", (*Handler).formation},
	{"/config", "config", "Config", (*Handler).configVars},
	{"/domains", "domains", "Domains", (*Handler).domains},
	{"/drains", "drains", "Drains", (*Handler).drainsPage},
	{"/addons", "addons", "Add-ons", (*Handler).addons},
	{"/logs", "logs", "Logs", (*Handler).logsPage},
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"ago":     ago,
		"stamp":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"percent": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
		"float1":  func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"bytes":   humanBytes,
		"cores":   func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
		"short":   func(s string) string { return s[:min(len(s), 8)] },
		"inc":     func(i int) int { return i + 1 },
		"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parsing the layout: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, fmt.Errorf("parsing page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes page with d, for session s (nil when none).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, s *session, status int, page string, d pageData) {
	if s != nil {
		d.User, d.Admin, d.CSRF = s.u.name, s.u.admin, s.csrf
	}
	if d.App != "" {
		for _, p := range appPages {
			d.Tabs = append(d.Tabs, tab{Path: "/apps/" + d.App + p.path, Label: p.label, Key: p.tab})
		}
	}
	var b bytes.Buffer
	t := h.pages[page]
	if t == nil {
		h.log.Error("dashboard page missing", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&b, "layout.html", d); err != nil {
		h.log.Error("rendering dashboard page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail renders an error page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *session, status int, heading, msg string) {
	h.render(w, r, s, status, "error", pageData{Title: heading, Heading: heading, Message: msg})
}

// notFound is the answer for an app that does not exist, and the same
// bytes for one the user may not see.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, s *session, app string) {
	h.fail(w, r, s, http.StatusNotFound, "No such app", fmt.Sprintf("app %s not found", app))
}

// failErr answers err of a page or action: a hidden or missing app as
// not found, a user error with its message, anything else as a generic
// line (and logged).
func (h *Handler) failErr(w http.ResponseWriter, r *http.Request, s *session, app string, err error) {
	var pe *paas.Error
	switch {
	case errors.Is(err, errHidden), errors.Is(err, paas.ErrAppNotFound):
		h.notFound(w, r, s, app)
	case errors.As(err, &pe):
		h.fail(w, r, s, http.StatusBadRequest, "Refused", pe.Msg)
	default:
		h.log.Error("dashboard request failed", "by", s.u.name, "app", app, "path", r.URL.Path, "err", err)
		h.fail(w, r, s, http.StatusInternalServerError, "Something went wrong", "The server could not do this; its log says why.")
	}
}

// appRow is one app of the apps list.
type appRow struct {
	Name       string
	State      string
	Release    int
	Instances  int
	Up         int
	LastDeploy time.Time
	Metrics    bool
	ReqPerMin  float64
	ErrorRate  float64
}

// visibleApps lists the apps u may see, sorted, as the gateway's apps
// command does.
func (h *Handler) visibleApps(ctx context.Context, u user) ([]string, error) {
	rels, err := h.cfg.Platform.AppRelations(ctx, u.name)
	if err != nil {
		return nil, err
	}
	var kept []string
	for app, rel := range rels {
		err := access.Decide(u.admin, rel, access.Read, app)
		switch {
		case err == nil:
			kept = append(kept, app)
		case !errors.Is(err, access.ErrHidden):
			return nil, err
		}
	}
	slices.Sort(kept)
	return kept, nil
}

// appsPage lists the apps the user may see.
func (h *Handler) appsPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	names, err := h.visibleApps(ctx, s.u)
	if err != nil {
		h.failErr(w, r, s, "", err)
		return
	}
	var rows []appRow
	for _, name := range names {
		a, err := h.cfg.Platform.App(ctx, name)
		if errors.Is(err, paas.ErrAppNotFound) {
			continue // destroyed meanwhile
		}
		if err != nil {
			h.failErr(w, r, s, name, err)
			return
		}
		row := appRow{Name: name, Release: a.Release, State: appState(a)}
		if ps, err := h.cfg.Platform.Processes(ctx, name); err == nil {
			for _, p := range ps {
				row.Instances++
				if p.State == "up" {
					row.Up++
				}
			}
			if row.State == "" {
				row.State = processState(ps)
			}
		}
		if rs, err := h.cfg.Platform.Releases(ctx, name); err == nil && len(rs) > 0 {
			row.LastDeploy = rs[0].CreatedAt
		}
		if h.cfg.Metrics != nil {
			sum := h.cfg.Metrics.Summary(name)
			row.Metrics, row.ReqPerMin, row.ErrorRate = true, sum.RequestsPerMin, sum.ErrorRate
		}
		rows = append(rows, row)
	}
	h.render(w, r, s, http.StatusOK, "apps", pageData{Title: "Apps", Data: rows})
}

// appState is what an app's record says of its state, "" when that is
// up to its instances.
func appState(a paas.App) string {
	switch {
	case a.Damaged != "":
		return "damaged"
	case a.Maintenance:
		return "maintenance"
	case a.Release == 0:
		return "not deployed"
	}
	return ""
}

// processState sums up instances' states.
func processState(ps []paas.Process) string {
	if len(ps) == 0 {
		return "idle"
	}
	for _, p := range ps {
		if p.State != "up" {
			return p.State
		}
	}
	return "up"
}

// appPage serves one page of an app: the user must be allowed to read it.
func (h *Handler) appPage(p appPageSpec) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		app := r.PathValue("app")
		if err := h.allow(s.u, access.Read, app); err != nil {
			h.failErr(w, r, s, app, err)
			return
		}
		ctx := paas.WithActor(r.Context(), s.u.name)
		if _, err := h.cfg.Platform.App(ctx, app); err != nil {
			h.failErr(w, r, s, app, err)
			return
		}
		data, err := p.load(h, ctx, app, r)
		if err != nil {
			h.failErr(w, r, s, app, err)
			return
		}
		h.render(w, r, s, http.StatusOK, "app_"+p.tab, pageData{Title: app + " · " + p.label, App: app, Tab: p.tab, Data: data})
	}
}

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

// ago says how long ago t was, roughly.
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

// humanBytes shows a size in B, KiB, MiB or GiB.
func humanBytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}
