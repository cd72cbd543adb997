package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"paas"
	"paas/store"
)

// Login tokens live in paasd's memory only: a paasd restarted (or handed
// over) within a minute of minting one refuses it, and `dashboard:url`
// mints another. Sessions are kept in the store (Sessions), under a
// SHA-256 hash of their id, so that a restart or a handover to a
// successor signs nobody out; the id itself is only in the browser's
// cookie. A session's CSRF token is derived from its id (an HMAC), so
// nothing more is stored.

const (
	// tokenTTL is how long a login token may be spent.
	tokenTTL = 60 * time.Second
	// sessionTTL is how long a session lasts after its login, at most.
	sessionTTL = 12 * time.Hour
	// sessionIdle ends a session unused for this long.
	sessionIdle = 2 * time.Hour
	// touchEvery is how often, at most, a session's use is written to
	// the store: its idle time is counted from that.
	touchEvery = time.Minute
	// pruneEvery is how often, at most, expired sessions are removed
	// from the store.
	pruneEvery = 10 * time.Minute
	// maxTokens bounds the login tokens held; maxSessions the sessions
	// stored, the oldest going first.
	maxTokens   = 1024
	maxSessions = 4096
	// cookieName is the session cookie: the __Host- prefix makes the
	// browser keep it only when Secure, for Path=/, without a Domain.
	cookieName = "__Host-paas_session"
	// csrfField is the hidden form field carrying the CSRF token.
	csrfField = "csrf"
)

// Sessions is where the dashboard keeps its sessions, so that they
// outlive paasd: package store's methods. Sessions are named by the
// SHA-256 hash of their id.
type Sessions interface {
	// PutDashSession stores a new session, keeping at most limit.
	PutDashSession(hash []byte, d store.DashSession, limit int) error
	// DashSession returns the session stored under hash.
	DashSession(hash []byte) (d store.DashSession, ok bool, err error)
	// TouchDashSession records a use at at, which moves its expiry.
	TouchDashSession(hash []byte, at, expires time.Time) error
	// DeleteDashSession removes a session.
	DeleteDashSession(hash []byte) error
	// PruneDashSessions removes the sessions expired at now.
	PruneDashSessions(now time.Time) (int, error)
}

// grant is who a token or session is for.
type grant struct {
	user        string
	fingerprint string
	created     time.Time
}

// session is one logged-in browser.
type session struct {
	id string
	grant
	csrf string
	// u is the user as the request that found the session saw them.
	u user
}

// authenticator keeps login tokens, in memory, and sessions, in the
// store.
type authenticator struct {
	now   func() time.Time
	store Sessions
	log   *slog.Logger

	mu        sync.Mutex
	tokens    map[string]grant
	lastPrune time.Time
}

func newAuthenticator(now func() time.Time, st Sessions, log *slog.Logger) *authenticator {
	a := &authenticator{now: now, store: st, log: log, tokens: map[string]grant{}}
	a.prune(now())
	return a
}

// randomID is 32 random bytes (256 bits), URL-safe.
func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionHash is what a session is stored under: its id never is.
func sessionHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// csrfToken is the session's CSRF token: an HMAC keyed by its id, which
// tells nothing of the id.
func csrfToken(id string) string {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte("paas dashboard csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// expiry is when a session created at created and last used at used
// ends.
func expiry(created, used time.Time) time.Time {
	end := created.Add(sessionTTL)
	if idle := used.Add(sessionIdle); idle.Before(end) {
		return idle
	}
	return end
}

// mint makes a login token for user's key fingerprint.
func (a *authenticator) mint(user, fingerprint string) (string, error) {
	tok, err := randomID()
	if err != nil {
		return "", err
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for t, g := range a.tokens {
		if now.Sub(g.created) >= tokenTTL {
			delete(a.tokens, t)
		}
	}
	if len(a.tokens) >= maxTokens {
		return "", paas.Errorf("too many dashboard logins at once: try again in a minute")
	}
	a.tokens[tok] = grant{user: user, fingerprint: fingerprint, created: now}
	return tok, nil
}

// spend consumes a token: ok is false for an unknown, spent or expired
// one. On success it returns a new session, stored.
func (a *authenticator) spend(tok string) (*session, bool) {
	now := a.now().UTC()
	a.mu.Lock()
	g, ok := a.tokens[tok]
	delete(a.tokens, tok)
	a.mu.Unlock()
	if !ok || now.Sub(g.created) >= tokenTTL {
		return nil, false
	}
	id, err := randomID()
	if err != nil {
		return nil, false
	}
	a.prune(now)
	d := store.DashSession{User: g.user, Fingerprint: g.fingerprint, Created: now, LastUsed: now, Expires: expiry(now, now)}
	if err := a.store.PutDashSession(sessionHash(id), d, maxSessions); err != nil {
		a.log.Error("dashboard session not stored", "by", g.user, "err", err)
		return nil, false
	}
	return &session{id: id, grant: grant{user: g.user, fingerprint: g.fingerprint, created: now}, csrf: csrfToken(id)}, true
}

// prune removes expired sessions from the store, at most every
// pruneEvery.
func (a *authenticator) prune(now time.Time) {
	a.mu.Lock()
	due := a.lastPrune.IsZero() || now.Sub(a.lastPrune) >= pruneEvery
	if due {
		a.lastPrune = now
	}
	a.mu.Unlock()
	if !due {
		return
	}
	if _, err := a.store.PruneDashSessions(now); err != nil {
		a.log.Warn("dashboard sessions not pruned", "err", err)
	}
}

// errSessionStore: the store could not be read; the session may well be
// live, so the request is answered "try again", not "signed out".
var errSessionStore = errors.New("dashboard sessions unavailable")

// lookup returns the live session with id. A session's use is written
// to the store at most every touchEvery. err is errSessionStore when the
// store could not be read.
func (a *authenticator) lookup(id string) (*session, bool, error) {
	if id == "" {
		return nil, false, nil
	}
	now := a.now().UTC()
	a.prune(now)
	hash := sessionHash(id)
	d, ok, err := a.store.DashSession(hash)
	if err != nil {
		a.log.Warn("dashboard session not read", "err", err)
		return nil, false, errSessionStore
	}
	if !ok {
		return nil, false, nil
	}
	if !now.Before(d.Expires) {
		a.end(id)
		return nil, false, nil
	}
	if now.Sub(d.LastUsed) >= touchEvery {
		if err := a.store.TouchDashSession(hash, now, expiry(d.Created, now)); err != nil {
			a.log.Warn("dashboard session's use not recorded", "err", err)
		}
	}
	return &session{id: id, grant: grant{user: d.User, fingerprint: d.Fingerprint, created: d.Created}, csrf: csrfToken(id)}, true, nil
}

// end forgets a session.
func (a *authenticator) end(id string) {
	if err := a.store.DeleteDashSession(sessionHash(id)); err != nil {
		a.log.Error("dashboard session not removed", "err", err)
	}
}

// login spends the token of GET /login?token=… and sets the session
// cookie. A reused, expired or unknown token is refused.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		// A link preview looking at the URL does not spend it.
		return
	}
	s, ok := h.auth.spend(r.URL.Query().Get("token"))
	if ok {
		if _, _, known := h.keyUser(s.fingerprint, s.user); !known {
			h.auth.end(s.id)
			ok = false
		}
	}
	if !ok {
		h.log.Info("dashboard login refused", "remote", r.RemoteAddr)
		h.render(w, r, nil, http.StatusForbidden, "refused", pageData{Title: "Login refused"})
		return
	}
	h.log.Info("dashboard login", "by", s.user, "remote", r.RemoteAddr)
	h.record(s, r, h.now(), "login", "", 0)
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: s.id, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(sessionTTL / time.Second),
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	h.auth.end(s.id)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	h.render(w, r, nil, http.StatusOK, "signedout", pageData{Title: "Signed out"})
}

// keyUser checks that the key with fingerprint exists and belongs to
// user, and returns the user as they are now.
func (h *Handler) keyUser(fingerprint, name string) (user, paas.Key, bool) {
	u, k, ok := h.cfg.Platform.User(fingerprint)
	if !ok || u.Name != name {
		return user{}, paas.Key{}, false
	}
	if h.cfg.KeyExpired != nil && h.cfg.KeyExpired(k.Options, h.now()) {
		return user{}, paas.Key{}, false
	}
	return user{name: u.Name, admin: u.Admin}, k, true
}

// withSession runs next for a request of a live session whose key still
// belongs to its user; a POST must also carry the session's CSRF token
// and come from the dashboard's origin. Anything else is refused.
func (h *Handler) withSession(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, err := r.Cookie(cookieName)
		var s *session
		ok := err == nil
		if ok {
			s, ok, err = h.auth.lookup(c.Value)
			if err != nil {
				w.Header().Set("Retry-After", "2")
				h.fail(w, r, nil, http.StatusServiceUnavailable, "Try again", "The dashboard is restarting: try again in a moment.")
				return
			}
		}
		if ok {
			var u user
			if u, _, ok = h.keyUser(s.fingerprint, s.user); ok {
				s.u = u
			} else {
				// The key was removed or given to another user: the
				// session ends with it.
				h.auth.end(s.id)
			}
		}
		if !ok {
			h.render(w, r, nil, http.StatusUnauthorized, "signedout", pageData{Title: "Not signed in"})
			return
		}
		if r.Method == http.MethodPost && !h.sameOrigin(r, s) {
			h.log.Info("dashboard request refused: no valid CSRF token or foreign origin", "by", s.user, "path", r.URL.Path)
			h.fail(w, r, s, http.StatusForbidden, "Refused", "This form is stale or did not come from the dashboard: reload the page and try again.")
			return
		}
		next(w, r, s)
	}
}

// sameOrigin checks a POST: its CSRF field equals the session's (in
// constant time), and what the browser says of its origin (Origin,
// Sec-Fetch-Site) is the dashboard itself.
//
// Under Referrer-Policy: no-referrer a browser sends "Origin: null" with
// a form, so that one is taken only with Sec-Fetch-Site: same-origin,
// which a page cannot forge.
func (h *Handler) sameOrigin(r *http.Request, s *session) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	switch site {
	case "", "same-origin":
	default:
		return false
	}
	switch o := r.Header.Get("Origin"); o {
	case "":
	case "null":
		if site != "same-origin" {
			return false
		}
	default:
		u, err := url.Parse(o)
		if err != nil || u.Scheme != "https" || u.Host != r.Host {
			return false
		}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	got := r.PostFormValue(csrfField)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}
