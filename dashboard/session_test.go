package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// restart replaces the fixture's handler with a new one on the same
// store, as a restarted paasd or a successor has.
func (f *fixture) restart() {
	f.t.Helper()
	f.h.Close()
	h, err := New(Config{Platform: f.p, Sessions: f.st, Audit: f.audit, HTTPSPort: 8443, Now: f.clock.now})
	if err != nil {
		f.t.Fatal(err)
	}
	h.SetHost(testHost)
	f.h = h
}

// TestSessionsSurviveARestart: a session made before a restart is still
// signed in after it, its CSRF token still good and its live page's
// reconnect answered with the stream, resuming after the last line seen.
func TestSessionsSurviveARestart(t *testing.T) {
	f := newFixture(t)
	c, csrf := f.login("SHA256:alice")
	f.restart()
	if w := f.do("GET", "/apps/shop", c, nil, nil); w.Code != http.StatusOK {
		t.Fatalf("a page after the restart: %d %s", w.Code, w.Body)
	}
	form := withCSRF(url.Values{"type": {"web"}, "count": {"2"}}, csrf)
	if w := f.do("POST", "/apps/shop/scale", c, form, map[string]string{"Origin": "https://" + testHost + ":8443"}); w.Code != http.StatusSeeOther {
		t.Errorf("a POST with the CSRF token of before the restart: %d %s", w.Code, w.Body)
	}
	br, done := f.stream("/apps/shop/logs/stream?after=2", c, map[string]string{"Last-Event-ID": "6"})
	defer done()
	if name, id, _ := nextEvent(t, br); name != "line" || id != "7" {
		t.Errorf("the reconnected stream's first event: %s %s, want line 7", name, id)
	}
}

// TestSessionsAreStoredByHash: the store holds the session under the
// SHA-256 of its id, with its user and key, and writes its use at most
// every touchEvery.
func TestSessionsAreStoredByHash(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	if _, ok, _ := f.st.DashSession([]byte(c.Value)); ok {
		t.Error("the session is stored under its id")
	}
	d, ok, err := f.st.DashSession(sessionHash(c.Value))
	if !ok || err != nil || d.User != "alice" || d.Fingerprint != "SHA256:alice" {
		t.Fatalf("stored: %+v %v %v", d, ok, err)
	}
	login := d.LastUsed
	f.clock.add(touchEvery / 2)
	f.do("GET", "/", c, nil, nil)
	if d, _, _ := f.st.DashSession(sessionHash(c.Value)); !d.LastUsed.Equal(login) {
		t.Errorf("a use within %s of the last was written: %v", touchEvery, d.LastUsed)
	}
	f.clock.add(touchEvery / 2)
	f.do("GET", "/", c, nil, nil)
	d, _, _ = f.st.DashSession(sessionHash(c.Value))
	if now := f.clock.now(); !d.LastUsed.Equal(now) || !d.Expires.Equal(now.Add(sessionIdle)) {
		t.Errorf("a use after %s: %+v", touchEvery, d)
	}
}

// TestSignOutAndEndedSessionsLeaveTheStore: signing out, a removed key
// and expiry remove the stored session; a restart prunes expired ones.
func TestSignOutAndEndedSessionsLeaveTheStore(t *testing.T) {
	f := newFixture(t)
	stored := func(c *http.Cookie) bool {
		_, ok, _ := f.st.DashSession(sessionHash(c.Value))
		return ok
	}
	c, csrf := f.login("SHA256:alice")
	if w := f.do("POST", "/logout", c, withCSRF(url.Values{}, csrf), nil); w.Code != http.StatusOK {
		t.Fatalf("sign-out: %d", w.Code)
	}
	if stored(c) {
		t.Error("a signed-out session is still stored")
	}
	f.restart()
	if w := f.do("GET", "/", c, nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("a signed-out session after a restart: %d", w.Code)
	}

	c, _ = f.login("SHA256:bob")
	delete(f.p.keys, "SHA256:bob")
	f.do("GET", "/", c, nil, nil)
	if stored(c) {
		t.Error("the session of a removed key is still stored")
	}

	c, _ = f.login("SHA256:alice")
	f.clock.add(sessionIdle)
	f.restart()
	if stored(c) {
		t.Error("an expired session outlived a restart")
	}
}

// TestAnUnreadableStoreIsNotASignOut: while the store cannot be read
// (an old paasd that handed it over) a request is told to try again.
func TestAnUnreadableStoreIsNotASignOut(t *testing.T) {
	f := newFixture(t)
	c, _ := f.login("SHA256:alice")
	f.st.Close()
	w := f.do("GET", "/apps/shop/logs/stream", c, nil, nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "try again") {
		t.Errorf("with the store closed: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

// TestTokensDoNotOutliveARestart: login tokens are kept in memory only.
func TestTokensDoNotOutliveARestart(t *testing.T) {
	f := newFixture(t)
	u, _ := f.h.LoginURL("alice", "SHA256:alice")
	f.restart()
	pu, _ := url.Parse(u)
	if w := f.do("GET", pu.RequestURI(), nil, nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("a token minted before a restart: %d", w.Code)
	}
}
