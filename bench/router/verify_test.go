package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A proxy that answers bench.localhost with anything but the backend's
// bodies fails verification.
func TestVerify(t *testing.T) {
	for name, body := range map[string]func(path string) string{
		"backend":    func(path string) string { return strings.Repeat("x", map[string]int{"/": 12, "/64k": 65536}[path]) },
		"empty page": func(string) string { return "" },
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Host != benchHost {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(body(r.URL.Path)))
		}))
		err := verify(&target{name: name, p: &proc{addr: srv.Listener.Addr().String()}})
		srv.Close()
		if (err == nil) != (name == "backend") {
			t.Errorf("%s: verify = %v", name, err)
		}
	}
}

func TestCaddyConfig(t *testing.T) {
	c, err := caddyConfig("127.0.0.1:4321", "127.0.0.1:5555")
	if err != nil {
		t.Fatal(err)
	}
	// Any host on the port, so that Host: bench.localhost reaches the
	// proxy rather than Caddy's empty default response.
	for _, want := range []string{"http://:4321 {", "bind 127.0.0.1", "reverse_proxy 127.0.0.1:5555"} {
		if !strings.Contains(c, want) {
			t.Errorf("missing %q in\n%s", want, c)
		}
	}
}
