package router

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"paas"
)

func TestCustomDomains(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	blog, _ := backend(t, "blog-web.1")
	shop, _ := backend(t, "shop-web.1")
	r.Set("blog", []Backend{blog})
	r.Set("shop", []Backend{shop})
	r.SetOptions("blog", Options{Domains: []string{"www.example.com", "*.blog.example", "xn--bcher-kva.example"}})

	for host, want := range map[string]string{
		"www.example.com":          "blog-web.1",
		"WWW.Example.COM.:8080":    "blog-web.1",
		"a.blog.example":           "blog-web.1",
		"bücher.example":           "blog-web.1",
		"blog.localhost":           "blog-web.1",
		"shop.localhost":           "shop-web.1",
		"example.com":              "",
		"blog.example":             "",
		"a.b.blog.example":         "",
		"www.example.com.evil.com": "",
	} {
		res, body := get(t, srv, host, "/", nil)
		if want == "" {
			if res.StatusCode != 404 {
				t.Errorf("%s: %d, want 404", host, res.StatusCode)
			}
			continue
		}
		if res.StatusCode != 200 || decode(t, body).Name != want {
			t.Errorf("%s: %d %q, want %s", host, res.StatusCode, body, want)
		}
	}
	if app, ok := r.AppFor("A.Blog.Example."); !ok || app != "blog" {
		t.Errorf("AppFor wildcard = %q %v", app, ok)
	}
	if _, ok := r.AppFor("random.example.net"); ok {
		t.Error("AppFor of an unrouted host is ok")
	}
	if got := r.Hosts("blog"); !slices.Equal(got, []string{"blog.localhost", "www.example.com", "*.blog.example", "xn--bcher-kva.example"}) {
		t.Errorf("Hosts = %q", got)
	}

	// Without the default domain only the custom ones route; Set keeps
	// options, and a new backend list does not drop them.
	r.SetOptions("blog", Options{Domains: []string{"www.example.com"}, ProxySettings: paas.ProxySettings{NoDefaultDomain: true}})
	r.Set("blog", []Backend{blog})
	if res, _ := get(t, srv, "blog.localhost", "/", nil); res.StatusCode != 404 {
		t.Errorf("default domain turned off: %d", res.StatusCode)
	}
	if res, _ := get(t, srv, "a.blog.example", "/", nil); res.StatusCode != 404 {
		t.Errorf("removed wildcard: %d", res.StatusCode)
	}
	if res, _ := get(t, srv, "www.example.com", "/", nil); res.StatusCode != 200 {
		t.Errorf("custom domain after Set: %d", res.StatusCode)
	}
	if got := r.Hosts("blog"); !slices.Equal(got, []string{"www.example.com"}) {
		t.Errorf("Hosts = %q", got)
	}
	r.Remove("blog")
	if res, _ := get(t, srv, "www.example.com", "/", nil); res.StatusCode != 404 {
		t.Errorf("removed app's domain: %d", res.StatusCode)
	}
}

func TestBodyLimit(t *testing.T) {
	r, srv, logs := setup(t, Config{MaxBody: 1000})
	var a recorder
	r.Set("a", []Backend{a.start(t, "web.1")})
	post := func(host string, n int, chunked bool) int {
		t.Helper()
		var body io.Reader = strings.NewReader(strings.Repeat("b", n))
		if chunked {
			body = io.MultiReader(body) // unknown length: sent chunked
		}
		req, _ := http.NewRequest("POST", srv.URL+"/up", body)
		req.Host = host
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %d bytes: %v", n, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("a.localhost", 1000, false); code != 200 {
		t.Errorf("body at the limit: %d", code)
	}
	if code := post("a.localhost", 1001, false); code != 413 {
		t.Errorf("declared body over the limit: %d", code)
	}
	if code := post("a.localhost", 5000, true); code != 413 {
		t.Errorf("chunked body over the limit: %d", code)
	}
	if code := post("a.localhost", 900, true); code != 200 {
		t.Errorf("chunked body under the limit: %d", code)
	}
	r.SetOptions("a", Options{ProxySettings: paas.ProxySettings{MaxBody: 10000}})
	if code := post("a.localhost", 5000, false); code != 200 {
		t.Errorf("body under the app's own limit: %d", code)
	}
	for _, rec := range a.all() {
		if len(rec.body) > 1000 && len(rec.body) != 5000 {
			t.Errorf("backend got a %d-byte body", len(rec.body))
		}
	}
	lines, _ := logs.wait(t, 5)
	if !strings.Contains(strings.Join(lines, "\n"), "code=H413") {
		t.Errorf("no H413 line in %q", lines)
	}
}

func TestHTTPSRedirectAndHSTS(t *testing.T) {
	r, srv, logs := setup(t, Config{HTTPSPort: 8443})
	b, _ := backend(t, "web.1")
	r.Set("secure", []Backend{b})
	r.SetOptions("secure", Options{ProxySettings: paas.ProxySettings{HTTPSRedirect: true, HSTS: true}})
	noFollow := &http.Client{Transport: client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for method, want := range map[string]int{"GET": 301, "POST": 308} {
		req, _ := http.NewRequest(method, srv.URL+"/a/b?c=d", nil)
		req.Host = "Secure.localhost:8080"
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want || res.Header.Get("Location") != "https://secure.localhost:8443/a/b?c=d" {
			t.Errorf("%s: %d Location %q", method, res.StatusCode, res.Header.Get("Location"))
		}
		if res.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("HSTS over plain HTTP")
		}
	}
	if lines, _ := logs.wait(t, 2); !strings.Contains(strings.Join(lines, "\n"), "status=301") || !strings.Contains(strings.Join(lines, "\n"), "status=308") {
		t.Errorf("lines %q", lines)
	}

	// A trusted proxy that terminated TLS is not redirected.
	trusting, trustSrv, _ := setup(t, Config{TrustedProxies: mustPrefixes(t, "127.0.0.1/32")})
	trusting.Set("secure", []Backend{b})
	trusting.SetOptions("secure", Options{ProxySettings: paas.ProxySettings{HTTPSRedirect: true, HSTS: true}})
	res, _ := get(t, trustSrv, "secure.localhost", "/", http.Header{"X-Forwarded-Proto": {"https"}})
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("HTTPS at a trusted proxy: %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	spoofed, _ := http.NewRequest("GET", srv.URL+"/", nil)
	spoofed.Host = "secure.localhost"
	spoofed.Header.Set("X-Forwarded-Proto", "https")
	if res, err := noFollow.Do(spoofed); err != nil {
		t.Error(err)
	} else {
		res.Body.Close()
		if res.StatusCode != 301 {
			t.Errorf("X-Forwarded-Proto from an untrusted client: %d, want 301", res.StatusCode)
		}
	}

	res2, _ := tlsGet(t, startTLS(t, r), "secure.localhost", "secure.localhost", false)
	res = res2.Response
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Errorf("over HTTPS: %d HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	if body := decode(t, res2.body); body.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("X-Forwarded-Proto %q", body.Header.Get("X-Forwarded-Proto"))
	}
}

// TestServerNameMismatch: a TLS connection opened for one app's name
// cannot carry requests for another app, in HTTP/1.1 as in HTTP/2.
func TestServerNameMismatch(t *testing.T) {
	r := New(Config{Domain: "localhost"})
	defer r.Close()
	a, _ := backend(t, "a-web.1")
	b, _ := backend(t, "b-web.1")
	r.Set("a", []Backend{a})
	r.Set("b", []Backend{b})
	r.SetOptions("a", Options{Domains: []string{"www.a.example"}})
	addr := startTLS(t, r)

	for _, h2 := range []bool{false, true} {
		proto := "HTTP/1.1"
		if h2 {
			proto = "HTTP/2.0"
		}
		if res, _ := tlsGet(t, addr, "a.localhost", "b.localhost", h2); res.StatusCode != http.StatusMisdirectedRequest || res.Proto != proto {
			t.Errorf("%s, SNI a, Host b: %d, want 421", res.Proto, res.StatusCode)
		}
		res, body := tlsGet(t, addr, "a.localhost", "www.a.example", h2)
		if res.StatusCode != 200 || res.Proto != proto {
			t.Fatalf("%s, SNI and Host of the same app: %d", res.Proto, res.StatusCode)
		}
		if s := decode(t, body); s.Name != "a-web.1" || s.Header.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("%s: instance %s saw X-Forwarded-Proto %q", res.Proto, s.Name, s.Header.Get("X-Forwarded-Proto"))
		}
		if res, _ := tlsGet(t, addr, "nobody.localhost", "a.localhost", h2); res.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("%s, unrouted SNI, Host a: %d, want 421", res.Proto, res.StatusCode)
		}
	}
}

type tlsResponse struct {
	*http.Response
	body []byte
}

// tlsGet sends GET / over TLS to addr with the given server name and
// Host, in HTTP/2 when h2 is set. The certificate is not checked.
func tlsGet(t *testing.T, addr, sni, host string, h2 bool) (tlsResponse, []byte) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{
		Proxy:             nil,
		TLSClientConfig:   &tls.Config{ServerName: sni, InsecureSkipVerify: true},
		ForceAttemptHTTP2: h2,
	}}
	defer c.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "https://"+addr+"/", nil)
	req.Host = host
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return tlsResponse{res, body}, body
}

func TestAppResponseTimeout(t *testing.T) {
	r, srv, logs := setup(t, Config{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-req.Context().Done():
		}
	}))
	defer slow.Close()
	r.Set("slow", []Backend{{Name: "web.1", Addr: slow.Listener.Addr().String()}})
	r.SetOptions("slow", Options{ProxySettings: paas.ProxySettings{ResponseTimeout: 200 * time.Millisecond}})
	start := time.Now()
	res, _ := get(t, srv, "slow.localhost", "/", nil)
	if res.StatusCode != 504 || time.Since(start) > 3*time.Second {
		t.Errorf("status %d after %v, want 504 after about 200ms", res.StatusCode, time.Since(start))
	}
	if lines, _ := logs.wait(t, 1); !strings.Contains(lines[0], "code=H12") {
		t.Errorf("line %q", lines[0])
	}
}

// TestClientGoneAbandonsRequest: a client that disconnects while its
// request waits for a slow instance has the request abandoned at the
// instance too, on the fast path as on the general one, also behind the
// client cap's listener as paasd serves.
func TestClientGoneAbandonsRequest(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		r, srv, logs := setup(t, Config{})
		clientGoneAbandons(t, r, srv, logs)
	})
	t.Run("capped", func(t *testing.T) {
		logs := &accessLogs{}
		r := New(Config{Domain: "localhost", AccessLog: logs.add})
		t.Cleanup(r.Close)
		srv := startFrontOn(t, r, ServerLimits{}, func(ln net.Listener) net.Listener { return ClientCap{Max: 10}.Listener(ln) })
		clientGoneAbandons(t, r, srv, logs)
	})
}

func clientGoneAbandons(t *testing.T, r *Router, srv *frontServer, logs *accessLogs) {
	arrived := make(chan struct{}, 1)
	abandoned := make(chan time.Duration, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived <- struct{}{}
		start := time.Now()
		select {
		case <-time.After(10 * time.Second):
		case <-req.Context().Done():
			abandoned <- time.Since(start)
		}
	}))
	defer slow.Close()
	r.Set("slow", []Backend{{Name: "web.1", Addr: slow.Listener.Addr().String()}})
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: slow.localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-arrived
	closed := time.Now()
	c.Close()
	select {
	case <-abandoned:
	case <-time.After(5 * time.Second):
		t.Fatal("the instance still serves a request whose client left")
	}
	if d := time.Since(closed); d > 2*time.Second {
		t.Errorf("abandoned %v after the client left", d)
	}
	lines, _ := logs.wait(t, 1)
	if !strings.Contains(lines[0], "code=H27") || !strings.Contains(lines[0], "status=499") {
		t.Errorf("line %q", lines[0])
	}
	if srv.front.FastRequests() != 1 {
		t.Errorf("%d requests on the fast path, want 1", srv.front.FastRequests())
	}
}
