package static

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// site makes a directory to serve, next to a secret file outside it.
func site(t testing.TB, with404 bool) string {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "public")
	files := map[string]string{
		"index.html":          "<h1>home</h1>",
		"style.css":           "body{}",
		"app.js":              "console.log(1)",
		"data.json":           "{}",
		"notes.txt":           "notes",
		"logo.svg":            "<svg/>",
		"blob.unknownext":     "\x00\x01binary",
		"sub/index.html":      "<h1>sub</h1>",
		"noindex/secret.txt":  "listed?",
		".env":                "SECRET=1",
		".well-known/acme":    "token",
		"evil.com/index.html": "local",
	}
	if with404 {
		files["404.html"] = "<h1>custom missing</h1>"
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(parent, "secret"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret", filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("notes.txt", filepath.Join(dir, "alias.txt")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func serveSite(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	h, err := NewHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return srv
}

// get requests path without following redirects.
func get(t *testing.T, srv *httptest.Server, method, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Path = path
	req.URL.RawPath = ""
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestHandler(t *testing.T) {
	srv := serveSite(t, site(t, false))
	for _, tc := range []struct {
		path, status, ctype, cache, body string
	}{
		{"/", "200", "text/html; charset=utf-8", "no-cache", "<h1>home</h1>"},
		{"/index.html", "200", "text/html; charset=utf-8", "no-cache", "<h1>home</h1>"},
		{"/style.css", "200", "text/css; charset=utf-8", "public, max-age=3600", "body{}"},
		{"/app.js", "200", "text/javascript; charset=utf-8", "public, max-age=3600", "console.log(1)"},
		{"/data.json", "200", "application/json", "public, max-age=3600", "{}"},
		{"/notes.txt", "200", "text/plain; charset=utf-8", "public, max-age=3600", "notes"},
		{"/alias.txt", "200", "text/plain; charset=utf-8", "public, max-age=3600", "notes"},
		{"/logo.svg", "200", "image/svg+xml", "public, max-age=3600", "<svg/>"},
		{"/blob.unknownext", "200", "application/octet-stream", "public, max-age=3600", "\x00\x01binary"},
		{"/sub/", "200", "text/html; charset=utf-8", "no-cache", "<h1>sub</h1>"},
		{"/sub/../style.css", "200", "text/css; charset=utf-8", "public, max-age=3600", "body{}"},
		{"/.well-known/acme", "200", "", "", "token"},
		{"/noindex/", "404", "text/plain; charset=utf-8", "", "404 page not found\n"},
		{"/missing", "404", "", "", "404 page not found\n"},
		{"/notes.txt/", "404", "", "", "404 page not found\n"},
		{"/.env", "404", "", "", "404 page not found\n"},
		{"/sub/.hidden/x", "404", "", "", "404 page not found\n"},
		{"/escape", "404", "", "", "404 page not found\n"},
		{"/../secret", "404", "", "", "404 page not found\n"},
	} {
		resp, body := get(t, srv, "GET", tc.path, nil)
		if got := resp.Status[:3]; got != tc.status {
			t.Errorf("%s: status %s, want %s", tc.path, resp.Status, tc.status)
		}
		if tc.ctype != "" && resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, resp.Header.Get("Content-Type"), tc.ctype)
		}
		if tc.cache != "" && resp.Header.Get("Cache-Control") != tc.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tc.path, resp.Header.Get("Cache-Control"), tc.cache)
		}
		if body != tc.body {
			t.Errorf("%s: body %q, want %q", tc.path, body, tc.body)
		}
	}
}

func TestHandlerRedirects(t *testing.T) {
	srv := serveSite(t, site(t, false))
	for path, want := range map[string]string{
		"/sub":       "./sub/",
		"//evil.com": "./evil.com/",
	} {
		resp, _ := get(t, srv, "GET", path, nil)
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("%s: %s to %q, want 301 to %q", path, resp.Status, resp.Header.Get("Location"), want)
		}
	}
	// Followed by a real client, the redirect lands on the index.
	resp, err := http.Get(srv.URL + "/sub?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/sub/" || resp.Request.URL.RawQuery != "x=1" || string(body) != "<h1>sub</h1>" {
		t.Errorf("followed to %s: %q", resp.Request.URL, body)
	}
}

func TestHandlerCustom404(t *testing.T) {
	srv := serveSite(t, site(t, true))
	resp, body := get(t, srv, "GET", "/nope", nil)
	if resp.StatusCode != 404 || body != "<h1>custom missing</h1>" || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("got %s %q %q", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	resp, body = get(t, srv, "HEAD", "/nope", nil)
	if resp.StatusCode != 404 || body != "" {
		t.Errorf("HEAD: got %s %q", resp.Status, body)
	}
}

func TestHandlerMethodsAndConditionals(t *testing.T) {
	srv := serveSite(t, site(t, false))
	resp, _ := get(t, srv, "POST", "/", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %s, Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
	resp, body := get(t, srv, "HEAD", "/style.css", nil)
	if resp.StatusCode != 200 || body != "" || resp.ContentLength != 6 {
		t.Errorf("HEAD: %s, %q, length %d", resp.Status, body, resp.ContentLength)
	}
	resp, body = get(t, srv, "GET", "/notes.txt", map[string]string{"Range": "bytes=1-2"})
	if resp.StatusCode != http.StatusPartialContent || body != "ot" {
		t.Errorf("range: %s %q", resp.Status, body)
	}
	resp, _ = get(t, srv, "GET", "/style.css", nil)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp, _ = get(t, srv, "GET", "/style.css", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %s", resp.Status)
	}
}

// FuzzHandlerPath requests arbitrary paths and checks that nothing outside
// the served directory or hidden inside it is ever returned.
func FuzzHandlerPath(f *testing.F) {
	for _, s := range []string{"/", "/sub", "/../secret", "/escape", "//x", "/.env", "/%2e%2e/secret", "/sub/..%2f..%2fsecret", "sub/../../secret"} {
		f.Add(s)
	}
	h, err := NewHandler(site(f, false))
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	f.Fuzz(func(t *testing.T, p string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = p
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.String()
		if body == "outside" || body == "SECRET=1" {
			t.Fatalf("%q served %q", p, body)
		}
		if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "./") {
			t.Fatalf("%q redirected to %q", p, loc)
		}
	})
}
