package router

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// instance is a web instance that can be stopped abruptly, cutting the
// requests it is serving, as a killed process would.
type instance struct {
	Backend
	srv *http.Server
}

func startInstance(t *testing.T, name string) *instance {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		time.Sleep(time.Millisecond) // some work, so requests overlap a switch
		fmt.Fprint(w, name)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return &instance{Backend: Backend{Name: name, Addr: l.Addr().String()}, srv: srv}
}

// TestSwitchUnderLoad replaces an app's instances again and again under
// concurrent keep-alive load, the way a deploy does: Set to new instances,
// Drain the old ones, kill them. No request may fail, and a request that
// starts after a Set must be served by the instances of that Set or later.
func TestSwitchUnderLoad(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	const switches, workers = 20, 8
	generation := func(g int) []*instance {
		return []*instance{startInstance(t, fmt.Sprintf("g%d-web.1", g)), startInstance(t, fmt.Sprintf("g%d-web.2", g))}
	}
	backends := func(is []*instance) []Backend {
		return []Backend{is[0].Backend, is[1].Backend}
	}
	current := generation(0)
	r.Set("app", backends(current))
	var gen atomic.Int64 // the generation whose Set has returned

	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	load := &http.Client{Transport: tr}
	var (
		served   atomic.Int64
		failures = make(chan string, 100)
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		select {
		case failures <- fmt.Sprintf(format, args...):
		default:
		}
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				want := gen.Load()
				req, _ := http.NewRequest("GET", srv.URL, nil)
				req.Host = "app.localhost"
				res, err := load.Do(req)
				if err != nil {
					fail("request: %v", err)
					continue
				}
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != 200 {
					fail("status %d, body %q, %v", res.StatusCode, body, err)
					continue
				}
				g, _, _ := strings.Cut(strings.TrimPrefix(string(body), "g"), "-")
				if n, err := strconv.ParseInt(g, 10, 64); err != nil || n < want {
					fail("request started at generation %d served by %s", want, body)
				}
				served.Add(1)
			}
		}()
	}

	// waitLoad waits until more requests have been served than n.
	waitLoad := func(n int64) {
		deadline := time.Now().Add(5 * time.Second)
		for served.Load() <= n+workers {
			if time.Now().After(deadline) {
				t.Fatal("load generator is not making progress")
			}
			time.Sleep(time.Millisecond)
		}
	}
	for g := 1; g <= switches; g++ {
		waitLoad(served.Load())
		next := generation(g)
		r.Set("app", backends(next))
		gen.Store(int64(g))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := r.Drain(ctx, []string{current[0].Addr, current[1].Addr})
		cancel()
		if err != nil {
			t.Fatalf("switch %d: drain: %v", g, err)
		}
		for _, in := range current {
			in.srv.Close() // cuts whatever it still serves
		}
		current = next
	}
	waitLoad(served.Load())
	close(stop)
	wg.Wait()
	close(failures)
	n := 0
	for f := range failures {
		t.Error(f)
		n++
	}
	t.Logf("%d requests over %d switches, %d failures", served.Load(), switches, n)
}
