// Package dashboard is paas's web UI: server-rendered pages (html/template,
// assets embedded) over the same services as the SSH commands, served by
// paasd's router on a host of its own over HTTPS.
//
// Login is passwordless: `dashboard:url` over SSH mints a single-use token
// valid for a minute (Mint), and visiting /login?token=… turns it into a
// session cookie bound to the user and the key that asked. Sessions are
// kept in the store, so a restart of paasd or its handover to a successor
// signs nobody out, and live pages reconnect. Every request
// checks again that the key exists and still belongs to that user, so
// removing the key ends the session. Every page and action asks
// access.Decide as the gateway does: an app the user may not see answers
// exactly as a missing one. Every POST carries the session's CSRF token
// and must come from the dashboard's own origin. Actions name their actor
// (paas.WithActor) and are written to the audit log, marked "dashboard".
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"paas"
	"paas/access"
	"paas/drains"
	"paas/logs"
	"paas/metrics"
)

// Platform is what the dashboard asks of the rest of the system: the
// methods of the SSH gateway's Platform its pages and actions call.
type Platform interface {
	// User returns the user behind the key with the given fingerprint;
	// ok is false for a key nobody has.
	User(fingerprint string) (user paas.User, key paas.Key, ok bool)
	// Relation returns how user stands to app and whether it exists.
	Relation(app, user string) (rel access.Relation, exists bool, err error)
	// AppRelations returns every app's name with how user stands to it.
	AppRelations(ctx context.Context, user string) (map[string]access.Relation, error)

	App(ctx context.Context, name string) (paas.App, error)
	Config(ctx context.Context, app string) (map[string]string, error)
	SetConfig(ctx context.Context, app, by string, set map[string]string, unset []string, out io.Writer) (paas.Release, error)
	Releases(ctx context.Context, app string) ([]paas.Release, error)
	Processes(ctx context.Context, app string) ([]paas.Process, error)
	Scale(ctx context.Context, app string, counts map[string]int, out io.Writer) error
	Restart(ctx context.Context, app, target string, out io.Writer) error
	Rollback(ctx context.Context, app, by string, version int, force bool, out io.Writer) (paas.Release, error)
	Logs(ctx context.Context, app string, q logs.Query, f logs.Format, w io.Writer) error
	Domains(ctx context.Context, app string) ([]string, error)
	AddDomain(ctx context.Context, app, host string) (string, error)
	RemoveDomain(ctx context.Context, app, host string) error
	Certs(ctx context.Context, app string) ([]paas.Cert, error)
	Drains(ctx context.Context, app string) ([]drains.Status, error)
	AddDrain(ctx context.Context, app, url string) (drains.Status, error)
	RemoveDrain(ctx context.Context, app, which string) (string, error)
	Addons(ctx context.Context, app string) ([]paas.Addon, error)
}

// Metrics is what the dashboard reads of the per-app series; nil shows
// "no metrics yet".
type Metrics interface {
	// Summary is the app's traffic over the last five minutes.
	Summary(app string) metrics.AppSummary
	// Charts are the app's charts over the last window (at most
	// metrics.Retention), with the app's releases marked: keys
	// "requests" (a line per status class 2xx 3xx 4xx 5xx, req/min),
	// "latency" (web p50, p95, p99, seconds), "cpu" (a line per instance,
	// cores), "memory" (a line per instance, bytes).
	Charts(app string, window time.Duration) []metrics.Chart
}

// AuditLog records the dashboard's actions in the server's audit log.
type AuditLog interface {
	Record(e paas.AuditEntry) error
}

// Config configures a Handler.
type Config struct {
	Platform Platform
	// Sessions keeps the dashboard's sessions: the store.
	Sessions Sessions
	// Metrics may be nil.
	Metrics Metrics
	// Audit may be nil: actions are then recorded nowhere.
	Audit AuditLog
	// Progress carries pushes' build output as it is written; nil shows
	// none.
	Progress *Progress
	// KeyExpired reports whether a key's options (expiry-time=) no
	// longer let it log in; an expired key ends its sessions as a
	// removed one does. Nil: keys do not expire.
	KeyExpired func(options []string, now time.Time) bool
	// HTTPSPort is the HTTPS listener's port: login URLs and the
	// redirect from HTTP name it when it is not 443.
	HTTPSPort int
	Logger    *slog.Logger
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// Handler serves the dashboard.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
	pages map[string]*template.Template

	mu   sync.RWMutex
	host string // the host it is served on

	auth *authenticator

	closing   chan struct{} // closed by Close: streams end
	closeOnce sync.Once

	streamMu sync.Mutex
	streams  map[string]int // open event streams by session id
}

//go:embed templates static
var assets embed.FS

// New returns a Handler. Its host is set with SetHost before it serves.
func New(cfg Config) (*Handler, error) {
	if cfg.Platform == nil {
		return nil, errors.New("dashboard: Config.Platform is required")
	}
	if cfg.Sessions == nil {
		return nil, errors.New("dashboard: Config.Sessions is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, now: cfg.Now, closing: make(chan struct{}), streams: map[string]int{}}
	h.auth = newAuthenticator(cfg.Now, cfg.Sessions, cfg.Logger)
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h.pages = pages
	h.routes()
	return h, nil
}

// Close ends the open event streams, so that a server shutting down does
// not wait for them; browsers reconnect by themselves.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.closing) })
}

// SetHost sets the host the dashboard is served on.
func (h *Handler) SetHost(host string) {
	h.mu.Lock()
	h.host = strings.ToLower(host)
	h.mu.Unlock()
}

// Host is the host the dashboard is served on.
func (h *Handler) Host() string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.host
}

// Serves reports whether a request for host (which may carry a port) is
// the dashboard's.
func (h *Handler) Serves(host string) bool {
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	d := h.Host()
	return d != "" && host == d
}

// origin is the dashboard's origin, https://HOST[:PORT].
func (h *Handler) origin() string {
	o := "https://" + h.Host()
	if p := h.cfg.HTTPSPort; p != 0 && p != 443 {
		o += ":" + strconv.Itoa(p)
	}
	return o
}

// LoginURL mints a login token for user, bound to the key with the given
// fingerprint, and returns the URL that spends it.
func (h *Handler) LoginURL(user, fingerprint string) (string, error) {
	if h.Host() == "" {
		return "", paas.Errorf("this server has no dashboard")
	}
	if h.cfg.HTTPSPort == 0 {
		return "", paas.Errorf("the dashboard is served over HTTPS only, and this server's HTTPS is off")
	}
	tok, err := h.auth.mint(user, fingerprint)
	if err != nil {
		return "", err
	}
	return h.origin() + "/login?token=" + tok, nil
}

// ServeHTTP serves one request for the dashboard's host: over plain HTTP
// it redirects to HTTPS.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	if r.TLS == nil {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "the dashboard is served over HTTPS only", http.StatusForbidden)
			return
		}
		http.Redirect(w, r, h.origin()+r.URL.RequestURI(), http.StatusPermanentRedirect)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// securityHeaders are set on every response.
func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Strict-Transport-Security", "max-age=31536000")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// routes sets up the mux.
func (h *Handler) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(static)))
	m.HandleFunc("GET /login", h.login)
	m.HandleFunc("POST /logout", h.withSession(h.logout))
	m.HandleFunc("GET /{$}", h.withSession(h.appsPage))
	for _, p := range appPages {
		m.HandleFunc("GET /apps/{app}"+p.path, h.withSession(h.appPage(p)))
	}
	m.HandleFunc("GET /apps/{app}/logs/stream", h.withSession(h.logStream))
	m.HandleFunc("GET /apps/{app}/deploys/stream", h.withSession(h.deployStream))
	m.HandleFunc("GET /apps/{app}/rollback", h.withSession(h.rollbackConfirm))
	for _, a := range actions {
		m.HandleFunc("POST /apps/{app}/"+a.name, h.withSession(h.action(a)))
	}
	m.HandleFunc("/", h.withSession(func(w http.ResponseWriter, r *http.Request, s *session) {
		h.fail(w, r, s, http.StatusNotFound, "Not found", "There is no such page.")
	}))
	h.mux = m
}

// staticHandler serves the embedded assets, cached briefly.
func staticHandler(fsys fs.FS) http.Handler {
	fh := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fh.ServeHTTP(w, r)
	})
}

// user is who a session acts for.
type user struct {
	name  string
	admin bool
}

// allow is the gateway's rule, asked the same way: may u take action a on
// app? It returns nil, a one-line refusal, or errHidden when u may not see
// the app (which the caller answers as it would a missing app).
func (h *Handler) allow(u user, a access.Action, app string) error {
	err := access.Check(u.admin, func() (access.Relation, error) {
		r, _, err := h.cfg.Platform.Relation(app, u.name)
		if err != nil {
			return access.None, fmt.Errorf("looking up %s's access to %s: %w", u.name, app, err)
		}
		return r, nil
	}, a, app)
	if errors.Is(err, access.ErrHidden) {
		return errHidden
	}
	return err
}

// errHidden: the user may not see the app; it is answered as a missing
// one.
var errHidden = errors.New("app hidden")
