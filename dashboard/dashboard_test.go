package dashboard

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"paas"
	"paas/store"
)

const testHost = "dashboard.localhost"

// clock is a settable clock for tokens and sessions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	h     *Handler
	p     *fakePlatform
	audit *fakeAudit
	clock *clock
	st    *store.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	p := newFakePlatform()
	p.keys["SHA256:admin"] = paas.User{Name: "root", Admin: true}
	p.keys["SHA256:alice"] = paas.User{Name: "alice"}
	p.keys["SHA256:bob"] = paas.User{Name: "bob"}
	p.keys["SHA256:eve"] = paas.User{Name: "eve"}
	p.addApp("shop", "alice", "bob")
	p.addApp("blog", "eve")
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	a := &fakeAudit{}
	st, err := store.Open(filepath.Join(t.TempDir(), "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := New(Config{Platform: p, Sessions: st, Audit: a, HTTPSPort: 8443, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	h.SetHost(testHost)
	return &fixture{t: t, h: h, p: p, audit: a, clock: c, st: st}
}

// do sends one request over "HTTPS" with the given cookie.
func (f *fixture) do(method, target string, cookie *http.Cookie, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "https://"+testHost+":8443"+target, body)
	r.TLS = &tls.ConnectionState{ServerName: testHost}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// login mints a URL for the key fp and spends it: the session cookie and
// its CSRF token.
func (f *fixture) login(fp string) (*http.Cookie, string) {
	f.t.Helper()
	u, _, _ := f.p.User(fp)
	loginURL, err := f.h.LoginURL(u.Name, fp)
	if err != nil {
		f.t.Fatal(err)
	}
	pu, _ := url.Parse(loginURL)
	w := f.do("GET", pu.RequestURI(), nil, nil, nil)
	if w.Code != http.StatusSeeOther {
		f.t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	var c *http.Cookie
	for _, k := range w.Result().Cookies() {
		if k.Name == cookieName {
			c = k
		}
	}
	if c == nil {
		f.t.Fatal("login set no session cookie")
	}
	page := f.do("GET", "/", c, nil, nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.Body.String())
	if m == nil {
		f.t.Fatalf("no CSRF token on the apps page:\n%s", page.Body)
	}
	return c, m[1]
}

func TestLoginURL(t *testing.T) {
	f := newFixture(t)
	u, err := f.h.LoginURL("alice", "SHA256:alice")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^https://dashboard\.localhost:8443/login\?token=[A-Za-z0-9_-]{43}$`).MatchString(u) {
		t.Errorf("login URL %q", u)
	}
	f.h.cfg.HTTPSPort = 443
	if u, _ := f.h.LoginURL("alice", "SHA256:alice"); !strings.HasPrefix(u, "https://dashboard.localhost/login?token=") {
		t.Errorf("on port 443: %q", u)
	}
	f.h.cfg.HTTPSPort = 0
	if _, err := f.h.LoginURL("alice", "SHA256:alice"); err == nil {
		t.Error("a login URL without HTTPS")
	}
}

func TestLoginTokenIsSingleUseAndShortLived(t *testing.T) {
	f := newFixture(t)
	u, _ := f.h.LoginURL("alice", "SHA256:alice")
	pu, _ := url.Parse(u)
	if w := f.do("HEAD", pu.RequestURI(), nil, nil, nil); w.Code != http.StatusOK || len(w.Result().Cookies()) != 0 {
		t.Errorf("HEAD: %d", w.Code)
	}
	w := f.do("GET", pu.RequestURI(), nil, nil, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("first use (after a HEAD): %d", w.Code)
	}
	c := w.Result().Cookies()[0]
	if c.Name != cookieName || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || len(c.Value) < 43 {
		t.Errorf("cookie %+v", c)
	}
	if w := f.do("GET", pu.RequestURI(), nil, nil, nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Login refused") {
		t.Errorf("reused token: %d", w.Code)
	}
	if w := f.do("GET", "/login?token=nonsense", nil, nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("unknown token: %d", w.Code)
	}
	u2, _ := f.h.LoginURL("alice", "SHA256:alice")
	f.clock.add(61 * time.Second)
	pu2, _ := url.Parse(u2)
	if w := f.do("GET", pu2.RequestURI(), nil, nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("expired token: %d", w.Code)
	}
	// A token of a key removed before it was spent is refused too.
	u3, _ := f.h.LoginURL("alice", "SHA256:alice")
	delete(f.p.keys, "SHA256:alice")
	pu3, _ := url.Parse(u3)
	if w := f.do("GET", pu3.RequestURI(), nil, nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("token of a removed key: %d", w.Code)
	}
}

func TestRemovingTheKeyEndsTheSession(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	if w := f.do("GET", "/apps/shop", c, nil, nil); w.Code != http.StatusOK {
		t.Fatalf("before: %d", w.Code)
	}
	// The key goes to another user: not alice's session any more.
	f.p.keys["SHA256:alice"] = paas.User{Name: "mallory"}
	if w := f.do("GET", "/apps/shop", c, nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("key given to another user: %d", w.Code)
	}
	f.p.keys["SHA256:alice"] = paas.User{Name: "alice"}
	if w := f.do("GET", "/apps/shop", c, nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("the ended session came back: %d", w.Code)
	}
	c, _ = f.login("SHA256:alice")
	delete(f.p.keys, "SHA256:alice")
	if w := f.do("GET", "/", c, nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("key removed: %d", w.Code)
	}
	if w := f.do("GET", "/", nil, nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("no cookie: %d", w.Code)
	}
}

func TestSessionsExpire(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	f.clock.add(sessionIdle + time.Second)
	if w := f.do("GET", "/", c, nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("idle session: %d", w.Code)
	}
	c, _ = f.login("SHA256:alice")
	for i := 0; i < 13; i++ {
		f.clock.add(time.Hour) // in use, never idle
		w := f.do("GET", "/", c, nil, nil)
		if i < 11 && w.Code != http.StatusOK {
			t.Fatalf("after %d h: %d", i+1, w.Code)
		}
		if i == 12 && w.Code != http.StatusUnauthorized {
			t.Errorf("after 13 h: %d", w.Code)
		}
	}
}

// TestExpiredKeysEndSessions: a key past its expiry-time= ends its
// session as a removed key does.
func TestExpiredKeysEndSessions(t *testing.T) {
	f := newFixture(t)
	f.h.cfg.KeyExpired = func(opts []string, now time.Time) bool {
		return len(opts) == 1 && opts[0] == "expired"
	}
	c, _ := f.login("SHA256:alice")
	f.p.options["SHA256:alice"] = []string{"expired"}
	if w := f.do("GET", "/", c, nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("expired key: %d", w.Code)
	}
}

func TestPostsNeedTheCSRFTokenAndTheOrigin(t *testing.T) {
	f := newFixture(t)
	c, csrf := f.login("SHA256:alice")
	scale := url.Values{"type": {"web"}, "count": {"2"}}
	for name, tc := range map[string]struct {
		form url.Values
		hdr  map[string]string
	}{
		"no token":       {scale, nil},
		"wrong token":    {withCSRF(scale, csrf+"x"), nil},
		"foreign origin": {withCSRF(scale, csrf), map[string]string{"Origin": "https://evil.example"}},
		"http origin":    {withCSRF(scale, csrf), map[string]string{"Origin": "http://" + testHost + ":8443"}},
		"cross-site":     {withCSRF(scale, csrf), map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"same-site":      {withCSRF(scale, csrf), map[string]string{"Sec-Fetch-Site": "same-site"}},
		"null origin":    {withCSRF(scale, csrf), map[string]string{"Origin": "null"}},
		"null, cross":    {withCSRF(scale, csrf), map[string]string{"Origin": "null", "Sec-Fetch-Site": "cross-site"}},
	} {
		if w := f.do("POST", "/apps/shop/scale", c, tc.form, tc.hdr); w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, w.Code)
		}
	}
	if len(f.p.calls) != 0 {
		t.Fatalf("refused POSTs called %v", f.p.calls)
	}
	w := f.do("POST", "/apps/shop/scale", c, withCSRF(scale, csrf), map[string]string{"Origin": "https://" + testHost + ":8443", "Sec-Fetch-Site": "same-origin"})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/apps/shop/formation" {
		t.Fatalf("good POST: %d %s", w.Code, w.Body)
	}
	// A browser's form under Referrer-Policy: no-referrer.
	if w := f.do("POST", "/apps/shop/scale", c, withCSRF(scale, csrf), map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}); w.Code != http.StatusSeeOther {
		t.Fatalf("a form with Origin: null, same-origin: %d", w.Code)
	}
	if len(f.p.calls) != 2 || f.p.calls[0] != "Scale shop map[web:2]" || f.p.actors[0] != "alice" {
		t.Errorf("calls %v by %v", f.p.calls, f.p.actors)
	}
	if len(f.audit.entries) != 3 {
		t.Fatalf("audit %v", f.audit.entries)
	}
	if e := f.audit.entries[0]; e.User != "alice" || e.Fingerprint != "SHA256:alice" || e.Command != "dashboard login" || e.App != "" {
		t.Errorf("login's audit entry %+v", e)
	}
	e := f.audit.entries[1]
	if e.User != "alice" || e.Fingerprint != "SHA256:alice" || e.Command != "dashboard ps:scale shop web=2" || e.App != "shop" || e.Status != 0 {
		t.Errorf("audit entry %+v", e)
	}
	// The token of one session is not another's.
	c2, _ := f.login("SHA256:bob")
	if w := f.do("POST", "/apps/shop/scale", c2, withCSRF(scale, csrf), nil); w.Code != http.StatusForbidden {
		t.Errorf("another session's token: %d", w.Code)
	}
}

func withCSRF(v url.Values, tok string) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = vs
	}
	c.Set(csrfField, tok)
	return c
}

func TestConfigValuesStayMaskedUntilRevealedAndOutOfTheAuditLog(t *testing.T) {
	f := newFixture(t)
	c, csrf := f.login("SHA256:alice")
	if w := f.do("GET", "/apps/shop/config", c, nil, nil); strings.Contains(w.Body.String(), "hunter2") || !strings.Contains(w.Body.String(), "SECRET") {
		t.Errorf("masked page:\n%s", w.Body)
	}
	if w := f.do("GET", "/apps/shop/config?reveal=SECRET", c, nil, nil); !strings.Contains(w.Body.String(), "hunter2") {
		t.Errorf("revealed page:\n%s", w.Body)
	}
	w := f.do("POST", "/apps/shop/config", c, url.Values{"csrf": {csrf}, "key": {"TOKEN"}, "value": {"s3cret"}}, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("config set: %d %s", w.Code, w.Body)
	}
	if f.p.calls[0] != "SetConfig shop by=alice set=map[TOKEN:s3cret] unset=[]" {
		t.Errorf("call %q", f.p.calls[0])
	}
	if got := f.audit.entries[1].Command; got != "dashboard config:set shop TOKEN=***" {
		t.Errorf("audit %q", got)
	}
	if w := f.do("POST", "/apps/shop/config", c, url.Values{"csrf": {csrf}, "key": {"1BAD"}, "value": {"x"}}, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid config key") {
		t.Errorf("bad key: %d", w.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	for _, path := range []string{"/", "/apps/shop", "/login?token=x"} {
		w := f.do("GET", path, c, nil, nil)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s %q, want %q", path, k, h.Get(k), v)
			}
		}
		if strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), " style=") {
			t.Errorf("%s: inline script or style", path)
		}
	}
}

func TestHTTPRedirectsToHTTPS(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest("GET", "http://"+testHost+"/apps/shop?x=1", nil)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != "https://dashboard.localhost:8443/apps/shop?x=1" {
		t.Errorf("%d %q", w.Code, w.Header().Get("Location"))
	}
	r = httptest.NewRequest("POST", "http://"+testHost+"/apps/shop/scale", nil)
	w = httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("POST over HTTP: %d", w.Code)
	}
}

func TestServes(t *testing.T) {
	f := newFixture(t)
	for host, want := range map[string]bool{"dashboard.localhost": true, "Dashboard.Localhost.:8443": true, "shop.localhost": false, "": false} {
		if got := f.h.Serves(host); got != want {
			t.Errorf("Serves(%q) = %v", host, got)
		}
	}
}

// TestFormationShowsWhatRuns: the formation page lists the current
// release's process types with the counts that run (web=1 unless
// scaled), not the release phase.
func TestFormationShowsWhatRuns(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	body := f.do("GET", "/apps/shop/formation", c, nil, nil).Body.String()
	for _, want := range []string{`id="count-web" name="count" type="number" min="0" max="100" value="1"`, `id="count-worker" name="count" type="number" min="0" max="100" value="0"`} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in\n%s", want, body)
		}
	}
	if strings.Contains(body, "count-release") {
		t.Error("the release phase is scalable")
	}
}

// TestBadInputChangesNothing: an action's bad input is one line back,
// and nothing is called or recorded as done.
func TestBadInputChangesNothing(t *testing.T) {
	f := newFixture(t)
	c, csrf := f.login("SHA256:alice")
	for _, tc := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/apps/shop/scale", url.Values{"type": {"web"}, "count": {"101"}}, "invalid count"},
		{"/apps/shop/scale", url.Values{"type": {"web"}, "count": {"-1"}}, "invalid count"},
		{"/apps/shop/scale", url.Values{"type": {"we b"}, "count": {"1"}}, "invalid process type"},
		{"/apps/shop/restart", url.Values{"target": {"web.1 x"}}, "invalid restart target"},
		{"/apps/shop/restart", url.Values{"target": {"web.0"}}, "invalid restart target"},
		{"/apps/shop/config/unset", url.Values{"key": {""}}, "invalid config key"},
		{"/apps/shop/rollback", url.Values{"version": {"v0"}}, "invalid release"},
		{"/apps/shop/rollback", url.Values{"version": {"v01"}}, "invalid release"},
		{"/apps/shop/domains", url.Values{"host": {"1.2.3.4"}}, "invalid domain"},
		{"/apps/shop/drains", url.Values{"url": {""}}, "drain&#39;s URL"},
		{"/apps/shop/drains/remove", url.Values{"number": {"0"}}, "invalid drain number"},
	} {
		w := f.do("POST", tc.path, c, withCSRF(tc.form, csrf), nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s %v: %d, want 400 saying %q", tc.path, tc.form, w.Code, tc.want)
		}
	}
	if len(f.p.calls) != 0 || len(f.audit.entries) != 1 {
		t.Errorf("calls %v, audit %v", f.p.calls, f.audit.entries)
	}
	if w := f.do("POST", "/apps/shop/restart", c, withCSRF(url.Values{"target": {"web.2"}}, csrf), nil); w.Code != http.StatusSeeOther || f.p.calls[0] != `Restart shop "web.2"` {
		t.Errorf("good restart: %d %v", w.Code, f.p.calls)
	}
}

// TestDrainURLsAreMaskedInTheAuditLog: a drain URL's credentials do not
// reach the audit log.
func TestDrainURLsAreMaskedInTheAuditLog(t *testing.T) {
	f := newFixture(t)
	c, csrf := f.login("SHA256:alice")
	w := f.do("POST", "/apps/shop/drains", c, url.Values{"csrf": {csrf}, "url": {"https://user:s3cret@logs.example.test/in?token=abc"}}, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got := f.audit.entries[1].Command; strings.Contains(got, "s3cret") || strings.Contains(got, "abc") || !strings.HasPrefix(got, "dashboard drains:add shop https://") {
		t.Errorf("audit %q", got)
	}
}
