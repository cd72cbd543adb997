package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"paas"
	"paas/access"
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
	return access.Visible(u.admin, rels)
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
