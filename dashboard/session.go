package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"sync"
	"time"

	"paas"
)

// Login tokens and sessions live in paasd's memory only: a restart logs
// everyone out, and `dashboard:url` logs them in again.

const (
	// tokenTTL is how long a login token may be spent.
	tokenTTL = 60 * time.Second
	// sessionTTL is how long a session lasts after its login, at most.
	sessionTTL = 12 * time.Hour
	// sessionIdle ends a session unused for this long.
	sessionIdle = 2 * time.Hour
	// maxTokens and maxSessions bound what the maps hold; the oldest
	// go first.
	maxTokens   = 1024
	maxSessions = 4096
	// cookieName is the session cookie: the __Host- prefix makes the
	// browser keep it only when Secure, for Path=/, without a Domain.
	cookieName = "__Host-paas_session"
	// csrfField is the hidden form field carrying the CSRF token.
	csrfField = "csrf"
)

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
	csrf     string
	lastSeen time.Time
	// u is the user as the request that found the session saw them.
	u user
}

// authenticator keeps login tokens and sessions.
type authenticator struct {
	now func() time.Time

	mu       sync.Mutex
	tokens   map[string]grant
	sessions map[string]*session
}

func newAuthenticator(now func() time.Time) *authenticator {
	return &authenticator{now: now, tokens: map[string]grant{}, sessions: map[string]*session{}}
}

// randomID is 32 random bytes (256 bits), URL-safe.
func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
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
// one. On success it returns a new session.
func (a *authenticator) spend(tok string) (*session, bool) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.tokens[tok]
	if !ok {
		return nil, false
	}
	delete(a.tokens, tok)
	if now.Sub(g.created) >= tokenTTL {
		return nil, false
	}
	id, err := randomID()
	if err != nil {
		return nil, false
	}
	csrf, err := randomID()
	if err != nil {
		return nil, false
	}
	a.prune(now)
	s := &session{id: id, grant: grant{user: g.user, fingerprint: g.fingerprint, created: now}, csrf: csrf, lastSeen: now}
	a.sessions[id] = s
	return s, true
}

// prune drops ended sessions, and the oldest when there are too many.
func (a *authenticator) prune(now time.Time) {
	var oldest *session
	for id, s := range a.sessions {
		if a.ended(s, now) {
			delete(a.sessions, id)
			continue
		}
		if oldest == nil || s.created.Before(oldest.created) {
			oldest = s
		}
	}
	if len(a.sessions) >= maxSessions && oldest != nil {
		delete(a.sessions, oldest.id)
	}
}

func (a *authenticator) ended(s *session, now time.Time) bool {
	return now.Sub(s.created) >= sessionTTL || now.Sub(s.lastSeen) >= sessionIdle
}

// lookup returns the live session with id, a copy.
func (a *authenticator) lookup(id string) (*session, bool) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[id]
	if !ok {
		return nil, false
	}
	if a.ended(s, now) {
		delete(a.sessions, id)
		return nil, false
	}
	s.lastSeen = now
	c := *s
	return &c, true
}

// end forgets a session.
func (a *authenticator) end(id string) {
	a.mu.Lock()
	delete(a.sessions, id)
	a.mu.Unlock()
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
			s, ok = h.auth.lookup(c.Value)
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
