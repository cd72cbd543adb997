package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// sayApp prints each /say?m=... line to its log and answers it.
const sayApp = `import http.server, os, sys, urllib.parse

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.urlparse(self.path)
        if q.path == "/say":
            m = urllib.parse.parse_qs(q.query).get("m", [""])[0]
            print("app says " + m, flush=True)
        body = ("hello from %s\n" % os.environ.get("DYNO", "?")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
`

// browser is a headless Chromium that trusts paasd's local CA.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts Chromium with paasd's local CA as the only root it
// adds: Chromium on Linux reads trust anchors from the NSS database in
// $HOME/.pki/nssdb, so the test makes one in a fresh HOME with certutil
// and starts Chromium with that HOME. Nothing of the host's trust store
// changes, and no certificate error is ignored. Chromium runs in a
// network namespace of its own (see isolatedLoopback) where 127.0.0.1
// at the port of httpsAddr reaches paasd's HTTPS listener, so that
// https://dashboard.localhost:PORT (*.localhost is loopback to Chromium)
// is the dashboard.
func newBrowser(t *testing.T, caFile, httpsAddr string) *browser {
	t.Helper()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium not installed (Debian package chromium; .ci/run installs it)")
	}
	if _, err := exec.LookPath("certutil"); err != nil {
		t.Skip("certutil not installed (Debian package libnss3-tools; .ci/run installs it)")
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Skip("nsenter not installed (Debian package util-linux)")
	}
	_, port, _ := net.SplitHostPort(httpsAddr)
	ns := isolatedLoopback(t, port, httpsAddr)
	home := t.TempDir()
	db := "sql:" + filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", db, "--empty-password"},
		{"-A", "-d", db, "-n", "paas local CA", "-t", "C,,", "-i", caFile},
	} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Env("HOME="+home),
		chromedp.UserDataDir(filepath.Join(home, "profile")),
		chromedp.WindowSize(1280, 900),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			cmd.Args = append([]string{"nsenter", "--net=" + ns, "--", cmd.Path}, cmd.Args[1:]...)
			cmd.Path = nsenter
		}),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run its sandbox as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// run runs steps with a deadline.
func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\nat %s:\n%s", what, err, b.location(), b.body())
	}
}

// location is the page's URL.
func (b *browser) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

// body is the page's text, for failure messages.
func (b *browser) body() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	return s
}

// text is the text of the element sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v\nat %s:\n%s", sel, err, b.location(), b.body())
	}
	return s
}

// waitText waits until the element sel's text contains want. The page
// may be loading or navigating (after a form is sent) meanwhile: the
// check is made again, on whatever page is there, until the deadline.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want)
	deadline := time.Now().Add(90 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if ok && err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("waiting for %s to show %q: %v\nat %s:\n%s", sel, want, err, b.location(), b.body())
}

// screenshot writes the page as dir/name.png.
func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// screenshotDir is where the browser test writes its screenshots:
// $PAAS_TEST_SCREENSHOTS, else a temporary dir.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("PAAS_TEST_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the dashboard: %s", dir)
	return dir
}

// loginURLRe is what dashboard:url prints.
var loginURLRe = regexp.MustCompile(`^https://dashboard\.localhost:([0-9]+)/login\?token=[A-Za-z0-9_-]{43}\n$`)

// TestDashboardInABrowser drives the dashboard with a real headless
// Chromium against a real paasd (exec runtime): log in through a URL
// minted over SSH, see the app, scale it, change its config, roll back,
// watch a log line and a push arrive live; a reused token, another user's
// view and a POST without the CSRF token are refused. It writes
// screenshots of the main pages.
func TestDashboardInABrowser(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	shots := screenshotDir(t)
	const app = "dashtest-shop"
	dir := s.newRepoOf(app, map[string]string{"Procfile": "web: python3 app.py\n", "requirements.txt": "", "app.py": sayApp})
	requireOK(t, "push", s.push(dir, "paas", "main"))

	r := s.ssh("dashboard:url")
	requireOK(t, "dashboard:url", r)
	m := loginURLRe.FindStringSubmatch(r.stdout)
	_, httpsPort, _ := net.SplitHostPort(s.httpsAddr())
	if m == nil || m[1] != httpsPort {
		t.Fatalf("dashboard:url printed %q, want https://dashboard.localhost:%s/login?token=...", r.stdout, httpsPort)
	}
	loginURL := strings.TrimSpace(r.stdout)
	origin := "https://dashboard.localhost:" + httpsPort
	caFile := filepath.Join(s.dataDir, "local-ca.pem")
	b := newBrowser(t, caFile, s.httpsAddr())

	t.Run("login and the apps list", func(t *testing.T) {
		b.run("login", chromedp.Navigate(loginURL))
		b.waitText("main", app)
		if loc := b.location(); loc != origin+"/" {
			t.Errorf("after login at %s, want %s/", loc, origin)
		}
		b.screenshot(shots, "apps")
		// A phone-sized window shows the same list.
		b.run("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		b.screenshot(shots, "apps-phone")
		b.run("desktop", chromedp.EmulateViewport(1280, 900))
	})

	t.Run("a reused token is refused", func(t *testing.T) {
		b.run("reuse", chromedp.Navigate(loginURL))
		b.waitText("main", "Login refused")
		// The refusal did not end the session the first use made.
		b.run("apps", chromedp.Navigate(origin+"/"))
		b.waitText("main", app)
	})

	t.Run("scale web to 2", func(t *testing.T) {
		b.run("formation", chromedp.Navigate(origin+"/apps/"+app+"/formation"))
		b.run("scale",
			chromedp.SetValue(chromedp.CSS("#count-web"), "2"),
			chromedp.Click(chromedp.CSS(`form[action$="/scale"] button`)),
		)
		b.waitText("#instances", "web.2")
		if got := b.text("#instances"); !strings.Contains(got, "web.1") {
			t.Errorf("instances: %q", got)
		}
		b.screenshot(shots, "formation")
		b.run("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		b.screenshot(shots, "formation-phone")
		b.run("desktop", chromedp.EmulateViewport(1280, 900))
		ps := s.ssh("ps " + app)
		requireOK(t, "ps", ps)
		if !strings.Contains(ps.stdout, "web.1") || !strings.Contains(ps.stdout, "web.2") {
			t.Errorf("ps over ssh disagrees:\n%s", ps.stdout)
		}
	})

	var before string
	t.Run("change a config var and see the new release", func(t *testing.T) {
		b.run("releases", chromedp.Navigate(origin+"/apps/"+app+"/releases"))
		before = b.text("tr.current td")
		b.run("config",
			chromedp.Navigate(origin+"/apps/"+app+"/config"),
			chromedp.SendKeys(chromedp.CSS("#config-key"), "GREETING"),
			chromedp.SendKeys(chromedp.CSS("#config-value"), "bonjour-secret"),
			chromedp.Click(chromedp.CSS(`form[action$="/config"] button`)),
		)
		b.waitText("main table", "GREETING")
		if strings.Contains(b.text("main"), "bonjour-secret") {
			t.Error("the config page shows a value before it is revealed")
		}
		b.run("reveal", chromedp.Click(chromedp.CSS(`a[href$="reveal=GREETING"]`)))
		b.waitText("main table", "bonjour-secret")
		b.screenshot(shots, "config")
		b.run("releases", chromedp.Navigate(origin+"/apps/"+app+"/releases"))
		b.waitText("tr.current", "+GREETING")
		b.screenshot(shots, "releases")
		if cur := b.text("tr.current td"); cur == before {
			t.Errorf("the current release is still %q", cur)
		}
		if strings.Contains(b.text("main"), "bonjour-secret") {
			t.Error("the releases page shows a config value")
		}
		cfg := s.ssh("config:get " + app + " GREETING")
		requireOK(t, "config:get", cfg)
		if cfg.stdout != "bonjour-secret\n" {
			t.Errorf("config:get: %q", cfg.stdout)
		}
	})

	t.Run("roll back", func(t *testing.T) {
		prev := strings.Fields(before)[0] // "v2"
		b.run("rollback",
			chromedp.Click(chromedp.CSS(`a[href$="/rollback?v=`+strings.TrimPrefix(prev, "v")+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/rollback"] button`)),
		)
		if !strings.Contains(b.text("main"), "Roll back to "+prev+"?") {
			t.Fatalf("no confirmation step: %q", b.text("main"))
		}
		b.run("confirm", chromedp.Click(chromedp.CSS(`form[action$="/rollback"] button`)))
		b.waitText("tr.current", "Rollback to "+prev)
		rel := s.ssh("releases " + app)
		requireOK(t, "releases", rel)
		if !strings.Contains(rel.stdout, "Rollback to "+prev) {
			t.Errorf("releases over ssh:\n%s", rel.stdout)
		}
		cfg := s.ssh("config " + app)
		if strings.Contains(cfg.stdout, "GREETING") {
			t.Errorf("after rolling back to %s, config still has GREETING:\n%s", prev, cfg.stdout)
		}
	})

	t.Run("a log line arrives live", func(t *testing.T) {
		b.run("logs", chromedp.Navigate(origin+"/apps/"+app+"/logs"))
		b.waitText("#log-status", "Live")
		marker := fmt.Sprintf("marker-%d", time.Now().UnixNano())
		s.mustGet(app, "/say?m="+marker, "hello")
		b.waitText("#app-log", "app says "+marker)
		b.screenshot(shots, "logs")
	})

	t.Run("a push shows up as it happens", func(t *testing.T) {
		b.run("overview", chromedp.Navigate(origin+"/apps/"+app))
		// The stream subscribes before it answers: once the page says
		// it is live, a push shows.
		b.waitText("#deploy-status", "Live")
		if err := os.WriteFile(filepath.Join(dir, "NOTE"), []byte("again\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s.commitAll(dir, "again")
		requireOK(t, "second push", s.push(dir, "paas", "main"))
		b.waitText("#deploy-status", "Push deployed")
		// The router's record of the requests so far is drawn.
		b.run("charts", chromedp.WaitVisible(chromedp.CSS(`.charts svg[aria-label]`)))
		if got := b.text(".charts"); !strings.Contains(got, "2xx") {
			t.Errorf("the charts do not show the app's requests: %q", got)
		}
		b.screenshot(shots, "overview")
		if got := b.text("#deploy-log"); !strings.Contains(got, "python") && !strings.Contains(got, "Procfile") {
			t.Errorf("deploy output: %q", got)
		}
	})

	// Another user: a member with an app of her own.
	eve := s.newMember("eve")
	admin := member{name: "admin", keyFile: s.keyFile}
	requireOK(t, "keys:add eve", s.sshAs(admin, eve.pub, "keys:add eve"))
	requireOK(t, "apps:create as eve", s.sshAs(eve, "", "apps:create dashtest-eve"))

	t.Run("a member sees only her apps", func(t *testing.T) {
		r := s.sshAs(eve, "", "dashboard:url")
		requireOK(t, "dashboard:url as eve", r)
		b.run("eve's login", chromedp.Navigate(strings.TrimSpace(r.stdout)))
		b.waitText("main", "dashtest-eve")
		if strings.Contains(b.text("main"), app) {
			t.Errorf("eve's apps list shows %s", app)
		}
		b.run("the admin's app", chromedp.Navigate(origin+"/apps/"+app+"/config"))
		hidden := b.text("main")
		b.run("a missing app", chromedp.Navigate(origin+"/apps/"+app+"x/config"))
		missing := b.text("main")
		if strings.ReplaceAll(missing, app+"x", app) != hidden || !strings.Contains(hidden, "not found") {
			t.Errorf("a hidden app %q, a missing one %q", hidden, missing)
		}
	})

	t.Run("a POST without the CSRF token is refused", func(t *testing.T) {
		res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{origin + "/"}})
		if err != nil {
			t.Fatal(err)
		}
		var session *network.Cookie
		for _, c := range res.Cookies {
			if c.Name == "__Host-paas_session" {
				session = c
			}
		}
		if session == nil || !session.HTTPOnly || !session.Secure || session.SameSite != network.CookieSameSiteStrict {
			t.Fatalf("session cookie %+v", session)
		}
		client := dashboardClient(t, s.httpsAddr(), caFile)
		post := func(form url.Values) int {
			req, _ := http.NewRequest("POST", origin+"/apps/dashtest-eve/scale", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := post(url.Values{"type": {"web"}, "count": {"3"}}); code != http.StatusForbidden {
			t.Errorf("POST without the CSRF token: %d, want 403", code)
		}
		if code := post(url.Values{"type": {"web"}, "count": {"3"}, "csrf": {"forged"}}); code != http.StatusForbidden {
			t.Errorf("POST with a forged CSRF token: %d, want 403", code)
		}
		audit := s.ssh("audit --json")
		requireOK(t, "audit", audit)
		var entries []struct{ User, Command, App string }
		if err := json.Unmarshal([]byte(audit.stdout), &entries); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range entries {
			got[e.User+" "+e.App+" "+e.Command] = true
			if strings.Contains(e.Command, "web=3") {
				t.Errorf("a refused POST was acted on: %+v", e)
			}
		}
		for _, want := range []string{
			"tester " + app + " dashboard ps:scale " + app + " web=2",
			"tester " + app + " dashboard config:set " + app + " GREETING=***",
			"tester  dashboard login",
			"eve  dashboard login",
		} {
			if !got[want] {
				t.Errorf("the audit log lacks %q:\n%s", want, audit.stdout)
			}
		}
	})

	t.Run("HTTP redirects to HTTPS, also through the fast path", func(t *testing.T) {
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
		req, _ := http.NewRequest("GET", "http://"+s.httpAddr+"/apps/x?y=1", nil)
		req.Host = "dashboard.localhost"
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != origin+"/apps/x?y=1" {
			t.Errorf("HTTP: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("the name dashboard is reserved", func(t *testing.T) {
		requireFail(t, "apps:create dashboard", s.ssh("apps:create dashboard"), "reserved")
	})

	t.Run("removing the key ends the session", func(t *testing.T) {
		requireOK(t, "apps:destroy as eve", s.sshAs(eve, "", "apps:destroy dashtest-eve --confirm dashtest-eve"))
		requireOK(t, "keys:remove eve", s.sshAs(admin, "", "keys:remove eve"))
		b.run("after removal", chromedp.Navigate(origin+"/"))
		b.waitText("main", "Not signed in")
	})
}

// dashboardClient is an HTTP client that reaches the dashboard at addr
// whatever the URL's host, trusting paasd's local CA.
func dashboardClient(t *testing.T, addr, caFile string) *http.Client {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	var d net.Dialer
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// TestDashboardOutlivesPaasdRestarts: a live logs page open in Chromium
// keeps showing the app's lines, each once, across a handover to a
// successor paasd and across a stop and a start of paasd (the page says
// it is reconnecting meanwhile), without a reload; and the session cookie
// of before still signs a page load in.
func TestDashboardOutlivesPaasdRestarts(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	const app = "dashtest-phoenix"
	dir := s.newRepoOf(app, map[string]string{"Procfile": "web: python3 app.py\n", "requirements.txt": "", "app.py": sayApp})
	requireOK(t, "push", s.push(dir, "paas", "main"))
	r := s.ssh("dashboard:url")
	requireOK(t, "dashboard:url", r)
	httpsAddr := s.httpsAddr()
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	origin := "https://dashboard.localhost:" + httpsPort
	b := newBrowser(t, filepath.Join(s.dataDir, "local-ca.pem"), httpsAddr)
	b.run("login", chromedp.Navigate(strings.TrimSpace(r.stdout)))
	b.waitText("main", app)
	b.run("logs", chromedp.Navigate(origin+"/apps/"+app+"/logs"))
	b.waitText("#log-status", "Live")

	var markers []string
	say := func(s *server) {
		t.Helper()
		m := fmt.Sprintf("phoenix-%d-%d", len(markers), time.Now().UnixNano())
		markers = append(markers, m)
		s.mustGet(app, "/say?m="+m, "hello")
		b.waitText("#app-log", "app says "+m)
	}
	say(s)

	// A successor takes over the listeners; the first paasd ends its
	// streams and exits.
	s2 := s.successor("PAAS_RUNTIME=exec")
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatal("the first paasd did not exit after handing over")
	}
	say(s2)

	// paasd stops, and a proxy in front of it answers 502 meanwhile,
	// which makes the browser's EventSource give up. Then a paasd starts
	// again on the same data dir and addresses.
	answered, proxyUp := b.badGateway("*/logs/stream*")
	s2.stop()
	b.waitText("#log-status", "Reconnecting")
	select {
	case <-answered:
	case <-time.After(90 * time.Second):
		t.Fatal("the page did not try to reconnect while paasd was down")
	}
	s3 := s2.successor("PAAS_RUNTIME=exec", "PAAS_HTTPS_ADDR="+httpsAddr)
	proxyUp()
	say(s3)
	b.waitText("#log-status", "Live")

	shown := b.text("#app-log")
	for _, m := range markers {
		if n := strings.Count(shown, "app says "+m+"\n"); n != 1 {
			t.Errorf("the page shows %q %d times, want once:\n%s", m, n, shown)
		}
	}
	// The session of before the restarts signs a page load in.
	b.run("reload", chromedp.Navigate(origin+"/apps/"+app+"/logs"))
	b.waitText("#app-log", "app says "+markers[len(markers)-1])
}

// badGateway answers the page's requests for URLs matching pattern with
// 502 Bad Gateway, as a reverse proxy in front of a stopped paasd does,
// until undo is called. answered is closed once one was answered.
func (b *browser) badGateway(pattern string) (answered <-chan struct{}, undo func()) {
	b.t.Helper()
	ctx, cancel := context.WithCancel(b.ctx)
	paused := make(chan fetch.RequestID, 256)
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			paused <- e.RequestID
		}
	}); err != nil {
		b.t.Fatal(err)
	}
	first, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		n := 0
		for {
			select {
			case id := <-paused:
				if _, err := chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: id, ResponseCode: http.StatusBadGateway, Body: []byte("bad gateway\n")}); err == nil {
					if n++; n == 1 {
						close(first)
					}
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		b.t.Fatal(err)
	}
	return first, func() {
		b.t.Helper()
		if _, err := chromedp.Call(b.ctx, fetch.Disable, cdp.Empty{}); err != nil {
			b.t.Fatal(err)
		}
		cancel()
		<-done
	}
}
