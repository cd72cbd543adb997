package router

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// observed is one call of Config.Observe.
type observed struct {
	app    string
	status int
	d      time.Duration
}

// TestObserve checks that both paths tell Observe of each request for a
// known app, with its status and duration, and of none for an unknown
// host; with no AccessLog set too.
func TestObserve(t *testing.T) {
	for name, conn := range map[string]string{"fast": "", "general": "X-Hop"} {
		t.Run(name, func(t *testing.T) { testObserve(t, conn) })
	}
}

func testObserve(t *testing.T, connection string) {
	calls := make(chan observed, 16)
	r := New(Config{Domain: "localhost", Observe: func(app string, status int, d time.Duration) {
		calls <- observed{app, status, d}
	}})
	t.Cleanup(r.Close)
	srv := startFront(t, r, ServerLimits{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			time.Sleep(50 * time.Millisecond)
		}
		if req.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer app.Close()
	r.Set("shop", []Backend{{Name: "web.1", Addr: app.Listener.Addr().String()}})
	r.SetOptions("idle", Options{}) // known, with no web instance

	send := func(host, path string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = host
		if connection != "" {
			req.Header.Set("Connection", connection)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	next := func() observed {
		t.Helper()
		select {
		case o := <-calls:
			return o
		case <-time.After(5 * time.Second):
			t.Fatal("no request observed")
		}
		return observed{}
	}

	for _, c := range []struct {
		host, path string
		want       observed
	}{
		{"shop.localhost", "/", observed{app: "shop", status: 201}},
		{"shop.localhost", "/fail", observed{app: "shop", status: 500}},
		{"idle.localhost", "/", observed{app: "idle", status: 503}},
		{"shop.localhost", "/slow", observed{app: "shop", status: 201, d: 50 * time.Millisecond}},
	} {
		if got := send(c.host, c.path); got != c.want.status {
			t.Fatalf("%s%s: status %d", c.host, c.path, got)
		}
		o := next()
		if o.app != c.want.app || o.status != c.want.status || o.d < c.want.d || o.d <= 0 || o.d > 5*time.Second {
			t.Errorf("%s%s observed as %+v, want %+v", c.host, c.path, o, c.want)
		}
	}
	// An unknown host is no app's request; the request after it is the
	// next one observed.
	if got := send("nobody.localhost", "/"); got != http.StatusNotFound {
		t.Fatalf("unknown host: status %d", got)
	}
	send("shop.localhost", "/")
	if o := next(); o.app != "shop" {
		t.Errorf("after an unknown host, observed %+v", o)
	}
}
