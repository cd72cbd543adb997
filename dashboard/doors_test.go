package dashboard

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// door is one page or action of an app.
type doorCase struct {
	method, path string
	form         url.Values
}

var appDoors = []doorCase{
	{"GET", "/apps/shop", nil},
	{"GET", "/apps/shop/releases", nil},
	{"GET", "/apps/shop/activity", nil},
	{"GET", "/apps/shop/formation", nil},
	{"GET", "/apps/shop/config", nil},
	{"GET", "/apps/shop/config?reveal=SECRET", nil},
	{"GET", "/apps/shop/domains", nil},
	{"GET", "/apps/shop/drains", nil},
	{"GET", "/apps/shop/addons", nil},
	{"GET", "/apps/shop/logs", nil},
	{"GET", "/apps/shop/rollback?v=1", nil},
	{"POST", "/apps/shop/scale", url.Values{"type": {"web"}, "count": {"2"}}},
	{"POST", "/apps/shop/restart", url.Values{"target": {"web.1"}}},
	{"POST", "/apps/shop/config", url.Values{"key": {"K"}, "value": {"v"}}},
	{"POST", "/apps/shop/config/unset", url.Values{"key": {"SECRET"}}},
	{"POST", "/apps/shop/rollback", url.Values{"version": {"1"}}},
	{"POST", "/apps/shop/domains", url.Values{"host": {"www.shop.test"}}},
	{"POST", "/apps/shop/domains/remove", url.Values{"host": {"www.example.test"}}},
	{"POST", "/apps/shop/drains", url.Values{"url": {"https://user:pw@logs.example.test/x"}}},
	{"POST", "/apps/shop/drains/remove", url.Values{"number": {"1"}}},
}

// TestDoorsByRole: every page and action of an app, for each role. An
// admin, the owner and a collaborator may read and change the app; a
// stranger gets the very page a missing app gets, and nothing is called.
// Each request of a non-admin asks the access rule about the app.
func TestDoorsByRole(t *testing.T) {
	csrfRe := regexp.MustCompile(`name="csrf" value="[^"]+"`)
	// The page of an app that does not exist, as eve sees it.
	missing := newFixture(t)
	delete(missing.p.apps, "shop")
	mc, mcsrf := missing.login("SHA256:eve")

	for _, role := range []struct {
		name, key, user string
		allowed         bool
	}{
		{"admin", "SHA256:admin", "root", true},
		{"owner", "SHA256:alice", "alice", true},
		{"collaborator", "SHA256:bob", "bob", true},
		{"stranger", "SHA256:eve", "eve", false},
	} {
		t.Run(role.name, func(t *testing.T) {
			f := newFixture(t)
			c, csrf := f.login(role.key)
			for _, d := range appDoors {
				f.p.lookups, f.p.calls = nil, nil
				var form url.Values
				if d.form != nil {
					form = withCSRF(d.form, csrf)
				}
				w := f.do(d.method, d.path, c, form, nil)
				want := http.StatusOK
				if d.method == "POST" {
					want = http.StatusSeeOther
				}
				if !role.allowed {
					want = http.StatusNotFound
				}
				if w.Code != want {
					t.Errorf("%s %s: %d, want %d\n%s", d.method, d.path, w.Code, want, w.Body)
				}
				if role.user != "root" && !slices.Contains(f.p.lookups, "shop/"+role.user) {
					t.Errorf("%s %s: the access rule was not asked (%v)", d.method, d.path, f.p.lookups)
				}
				if d.method == "POST" && role.allowed != (len(f.p.calls) == 1) {
					t.Errorf("%s %s: calls %v", d.method, d.path, f.p.calls)
				}
				if !role.allowed {
					var mform url.Values
					if d.form != nil {
						mform = withCSRF(d.form, mcsrf)
					}
					mw := missing.do(d.method, d.path, mc, mform, nil)
					got, miss := csrfRe.ReplaceAllString(w.Body.String(), ""), csrfRe.ReplaceAllString(mw.Body.String(), "")
					if got != miss || mw.Code != w.Code {
						t.Errorf("%s %s: a hidden app (%d) differs from a missing one (%d):\n%s\n---\n%s", d.method, d.path, w.Code, mw.Code, got, miss)
					}
					if strings.Contains(w.Body.String(), "hunter2") {
						t.Errorf("%s %s: a config value leaked", d.method, d.path)
					}
				}
			}
			// The apps list shows only the apps the role may see.
			list := f.do("GET", "/", c, nil, nil).Body.String()
			if strings.Contains(list, `href="/apps/shop"`) != role.allowed {
				t.Errorf("apps list shows shop: %v, want %v", !role.allowed, role.allowed)
			}
			if strings.Contains(list, `href="/apps/blog"`) != (role.user == "root" || role.user == "eve") {
				t.Errorf("apps list and blog (eve's): %s", list)
			}
		})
	}
}
