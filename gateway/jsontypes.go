package gateway

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"paas"
	"paas/drains"
)

// The shapes of --json output, one per listing or info command. Their
// field names are a promise to scripts: docs/json.md documents each, and
// a change there is a change here.

// appJSON is one app of `apps --json`.
type appJSON struct {
	Name      string  `json:"name"`
	Release   *int    `json:"release"`
	URL       *string `json:"url"`
	Owner     *string `json:"owner"`
	CreatedAt *string `json:"created_at"`
	CreatedBy *string `json:"created_by"`
	// Damaged says why the app cannot run and what to do; absent when
	// nothing is wrong.
	Damaged string `json:"damaged,omitempty"`
}

// limitsJSON is a process type's limits: memory in bytes, cpus in cores,
// null when not limited.
type limitsJSON struct {
	Memory *int64   `json:"memory"`
	CPUs   *float64 `json:"cpus"`
}

// appInfoJSON is `apps:info --json`.
type appInfoJSON struct {
	Name          string                `json:"name"`
	URL           *string               `json:"url"`
	Release       *int                  `json:"release"`
	Formation     map[string]int        `json:"formation"`
	Stopped       map[string]int        `json:"stopped"`
	Limits        map[string]limitsJSON `json:"limits"`
	StopTimeout   *float64              `json:"stop_timeout"`
	Maintenance   bool                  `json:"maintenance"`
	Domains       []string              `json:"domains"`
	DefaultDomain bool                  `json:"default_domain"`
	Builder       string                `json:"builder"`
	CreatedAt     *string               `json:"created_at"`
	CreatedBy     *string               `json:"created_by"`
}

func (s *Server) appInfoJSON(app paas.App, formation map[string]int) appInfoJSON {
	j := appInfoJSON{
		Name:          app.Name,
		Formation:     nonNilMap(formation),
		Stopped:       nonNilMap(app.Stopped),
		Limits:        map[string]limitsJSON{},
		Maintenance:   app.Maintenance,
		Domains:       nonNil(app.Domains),
		DefaultDomain: !app.Proxy.NoDefaultDomain,
		Builder:       app.Builder,
		CreatedAt:     jsonTime(app.CreatedAt),
		CreatedBy:     jsonString(app.CreatedBy),
	}
	if s.cfg.AppURL != nil {
		j.URL = jsonString(s.cfg.AppURL(app.Name))
	}
	if app.Release > 0 {
		j.Release = &app.Release
	}
	if j.Builder == "" {
		j.Builder = paas.BuilderAuto
	}
	for t, l := range app.Limits {
		var lj limitsJSON
		if l.Memory > 0 {
			lj.Memory = &l.Memory
		}
		if l.CPUs > 0 {
			lj.CPUs = &l.CPUs
		}
		j.Limits[t] = lj
	}
	if app.StopTimeout > 0 {
		secs := jsonSeconds(app.StopTimeout)
		j.StopTimeout = &secs
	}
	return j
}

// processJSON is one instance of `ps --json`.
type processJSON struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Index    int     `json:"index"`
	Release  int     `json:"release"`
	State    string  `json:"state"`
	Since    *string `json:"since"`
	Command  string  `json:"command"`
	Restarts int     `json:"restarts"`
	LastExit *int    `json:"last_exit"`
	Node     *string `json:"node"`
}

func toProcessJSON(p paas.Process) processJSON {
	j := processJSON{
		Name: p.Name, Type: p.Type, Index: p.Index, Release: p.Release, State: p.State,
		Since: jsonTime(p.Since), Command: p.Command, Restarts: p.Restarts,
	}
	if p.State == "crashed" || p.Restarts > 0 {
		exit := p.LastExit
		j.LastExit = &exit
	}
	if p.Node != "" {
		node := p.Node
		j.Node = &node
	}
	return j
}

// releaseJSON is one release of `releases --json`.
type releaseJSON struct {
	Version     int     `json:"version"`
	Current     bool    `json:"current"`
	Status      string  `json:"status"`
	Description string  `json:"description"`
	CreatedAt   *string `json:"created_at"`
	CreatedBy   *string `json:"created_by"`
	Build       int     `json:"build"`
	Commit      *string `json:"commit"`
	Pruned      bool    `json:"pruned"`
	Failure     *string `json:"failure"`
}

func toReleaseJSON(rel paas.Release, current int) releaseJSON {
	status := rel.Status
	if status == "" {
		status = paas.StatusSucceeded
	}
	return releaseJSON{
		Version: rel.Version, Current: rel.Version == current, Status: status,
		Description: rel.Description, CreatedAt: jsonTime(rel.CreatedAt), CreatedBy: jsonString(rel.CreatedBy),
		Build: rel.Build, Commit: jsonString(rel.Commit), Pruned: rel.Pruned, Failure: jsonString(rel.Failure),
	}
}

// releaseInfoJSON is `releases:info --json`: a release with its build,
// process types and config keys; config values only with --values.
type releaseInfoJSON struct {
	releaseJSON
	Image        *string           `json:"image"`
	Buildpacks   []string          `json:"buildpacks"`
	ProcessTypes map[string]string `json:"process_types"`
	ConfigKeys   []string          `json:"config_keys"`
	Config       map[string]string `json:"config"`
}

func toReleaseInfoJSON(rel paas.Release, current int, values bool) releaseInfoJSON {
	j := releaseInfoJSON{
		releaseJSON:  toReleaseJSON(rel, current),
		Buildpacks:   nonNil(rel.Buildpacks),
		ProcessTypes: nonNilMap(rel.ProcessTypes),
		ConfigKeys:   nonNil(slices.Sorted(maps.Keys(rel.Config))),
	}
	if rel.Slug != "" && !filepath.IsAbs(rel.Slug) {
		j.Image = &rel.Slug
	}
	if values {
		j.Config = nonNilMap(rel.Config)
	}
	return j
}

// domainJSON is one host of `domains --json`.
type domainJSON struct {
	Host     string `json:"host"`
	Kind     string `json:"kind"` // default or custom
	Wildcard bool   `json:"wildcard"`
}

// certJSON is one certificate of `certs --json`.
type certJSON struct {
	Hosts     []string `json:"hosts"`
	Source    string   `json:"source"`
	Issuer    *string  `json:"issuer"`
	ExpiresAt *string  `json:"expires_at"`
}

func toCertJSON(c paas.Cert) certJSON {
	return certJSON{Hosts: nonNil(c.Hosts), Source: c.Source, Issuer: jsonString(c.Issuer), ExpiresAt: jsonTime(c.NotAfter)}
}

// drainJSON is one drain of `drains --json`.
type drainJSON struct {
	Number      int     `json:"number"`
	URL         string  `json:"url"`
	Token       string  `json:"token"`
	State       string  `json:"state"`
	AddedAt     *string `json:"added_at"`
	Buffered    int     `json:"buffered"`
	Dropped     uint64  `json:"dropped"`
	Sent        uint64  `json:"sent"`
	LastError   *string `json:"last_error"`
	LastErrorAt *string `json:"last_error_at"`
}

func toDrainJSON(i int, d drains.Status) drainJSON {
	return drainJSON{
		Number: i, URL: d.URL, Token: d.Token, State: d.State, AddedAt: jsonTime(d.Added),
		Buffered: d.Buffered, Dropped: d.Dropped, Sent: d.Sent,
		LastError: jsonString(d.LastError), LastErrorAt: jsonTime(d.LastErrorAt),
	}
}

// addonJSON is one add-on of `addons --json`.
type addonJSON struct {
	Name        string            `json:"name"`
	Engine      string            `json:"engine"`
	Version     *string           `json:"version"`
	State       *string           `json:"state"`
	Attachments map[string]string `json:"attachments"`
	DiskBytes   *int64            `json:"disk_bytes"`
	CreatedAt   *string           `json:"created_at"`
	CreatedBy   *string           `json:"created_by"`
}

func toAddonJSON(a paas.Addon) addonJSON {
	j := addonJSON{
		Name: a.Name, Engine: a.Engine, Version: jsonString(a.Version), State: jsonString(a.State),
		Attachments: nonNilMap(a.Attachments), CreatedAt: jsonTime(a.CreatedAt), CreatedBy: jsonString(a.CreatedBy),
	}
	if a.DiskBytes >= 0 {
		j.DiskBytes = &a.DiskBytes
	}
	return j
}

// addonInfoJSON is `addons:info --json`: the URL's password is masked.
type addonInfoJSON struct {
	addonJSON
	URL      *string      `json:"url"`
	Rotation *string      `json:"rotation"`
	Backups  []backupJSON `json:"backups"`
	Logs     []string     `json:"logs"`
}

// backupJSON is one stored backup of an add-on, newest first in lists.
type backupJSON struct {
	ID        string  `json:"id"`
	TakenAt   *string `json:"taken_at"`
	SizeBytes int64   `json:"size_bytes"`
}

// toBackupsJSON lists backups newest first, as the tables do.
func toBackupsJSON(list []paas.AddonBackup) []backupJSON {
	out := make([]backupJSON, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		b := list[i]
		out = append(out, backupJSON{ID: b.ID, TakenAt: jsonTime(b.Time), SizeBytes: b.Size})
	}
	return out
}

func toAddonInfoJSON(a paas.Addon) addonInfoJSON {
	logs := make([]string, 0, len(a.Logs))
	for _, l := range a.Logs {
		logs = append(logs, strings.TrimRight(l, "\r\n"))
	}
	return addonInfoJSON{
		addonJSON: toAddonJSON(a), URL: jsonString(a.URL), Rotation: jsonString(a.Rotation),
		Backups: toBackupsJSON(a.Backups), Logs: logs,
	}
}

// keyJSON is one key of `keys --json`.
type keyJSON struct {
	User        string  `json:"user"`
	Role        *string `json:"role"`
	Type        *string `json:"type"`
	Fingerprint string  `json:"fingerprint"`
	Name        *string `json:"name"`
	AddedAt     *string `json:"added_at"`
	AddedBy     *string `json:"added_by"`
	ThisKey     bool    `json:"this_key"`
}

// accessJSON is one user of `access --json`.
type accessJSON struct {
	User string `json:"user"`
	Role string `json:"role"` // owner or collaborator
}

// auditJSON is one entry of `audit --json`.
type auditJSON struct {
	Seq         uint64  `json:"seq"`
	Time        *string `json:"time"`
	User        string  `json:"user"`
	Fingerprint string  `json:"fingerprint"`
	Remote      string  `json:"remote"`
	Command     string  `json:"command"`
	App         *string `json:"app"`
	Status      int     `json:"status"`
	Duration    float64 `json:"duration"`
}

func toAuditJSON(e paas.AuditEntry) auditJSON {
	return auditJSON{
		Seq: e.Seq, Time: jsonTime(e.Time), User: e.User, Fingerprint: e.Fingerprint, Remote: e.Remote,
		Command: e.Command, App: jsonString(e.App), Status: e.Status, Duration: float64(e.DurationMS) / 1000,
	}
}

// whoamiJSON is `whoami --json`.
type whoamiJSON struct {
	User string  `json:"user"`
	Role string  `json:"role"`
	Key  *string `json:"key"`
}

// nonNilMap is m, or an empty map for nil, so it encodes as {}.
func nonNilMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// derefString is *p, "" for nil.
func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
