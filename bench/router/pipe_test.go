package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestResponseEnd(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		bad  bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nxx", len("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n") + 12, false},
		{"HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n", len("HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n"), false},
		{"HTTP/1.1 200 OK\r\nContent-Len", -1, false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 0, true},
	} {
		got, err := responseEnd([]byte(c.in))
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("responseEnd(%q) = %d, %v; want %d, bad %v", c.in, got, err, c.want, c.bad)
		}
	}
}

// TestPipesPassResponsesWhole sends keep-alive requests through each pipe
// model, with responses smaller and larger than a pipe's buffer.
func TestPipesPassResponsesWhole(t *testing.T) {
	sizes := []int{0, 12, pipeBuf - 50, 3*pipeBuf + 17}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/"), &n)
		w.Header().Set("Content-Length", fmt.Sprint(n))
		w.Write([]byte(strings.Repeat("y", n)))
	}))
	defer be.Close()
	backend := strings.TrimPrefix(be.URL, "http://")
	for model, serve := range map[string]func(*net.TCPListener, string) error{
		"goroutine": serveGoroutinePipe, "epoll": serveEpollPipe,
	} {
		t.Run(model, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go serve(ln.(*net.TCPListener), backend)
			client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for round := 0; round < 3; round++ {
				for _, n := range sizes {
					res, err := client.Get(fmt.Sprintf("http://%s/%d", ln.Addr(), n))
					if err != nil {
						t.Fatalf("GET /%d: %v", n, err)
					}
					body, err := io.ReadAll(res.Body)
					res.Body.Close()
					if err != nil || len(body) != n || strings.Trim(string(body), "y") != "" {
						t.Fatalf("GET /%d: %d bytes, %v", n, len(body), err)
					}
				}
			}
		})
	}
}
