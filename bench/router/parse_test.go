package main

import (
	"strings"
	"testing"
)

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
BenchmarkRouterServeHTTP/12B-2         	   17934	     71210 ns/op	   0.17 MB/s	    6119 B/op	      86 allocs/op
BenchmarkRouterServer/64KiB-2          	    7747	    220491 ns/op	 297.23 MB/s	    8751 B/op	     110 allocs/op
PASS
`
	got := parseGoBench(out)
	want := []goBench{
		{name: "RouterServeHTTP/12B", nsPerOp: 71210, bytesPerOp: 6119, allocsPerOp: 86},
		{name: "RouterServer/64KiB", nsPerOp: 220491, bytesPerOp: 8751, allocsPerOp: 110},
	}
	if len(got) != len(want) {
		t.Fatalf("parseGoBench = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestNginxConfig(t *testing.T) {
	// With keep-alive the upstream keeps connections and speaks HTTP/1.1
	// with an empty Connection header; without, neither.
	for _, keepalive := range []bool{true, false} {
		c := nginxConfig("/tmp/x", "127.0.0.1:1", "127.0.0.1:2", keepalive, false)
		for _, s := range []string{"keepalive 256;", "proxy_http_version 1.1;", `proxy_set_header Connection "";`} {
			if has := strings.Contains(c, s); has != keepalive {
				t.Errorf("keepalive=%v: %q present=%v\n%s", keepalive, s, has, c)
			}
		}
		if !strings.Contains(c, "listen 127.0.0.1:1;") || !strings.Contains(c, "server 127.0.0.1:2;") {
			t.Errorf("addresses missing:\n%s", c)
		}
	}
	// With paasHeaders nginx sends the router's other headers.
	for _, paas := range []bool{true, false} {
		c := nginxConfig("/tmp/x", "127.0.0.1:1", "127.0.0.1:2", true, paas)
		for _, s := range []string{"X-Forwarded-Host $http_host;", "X-Request-Id $request_id;", `Via "1.1 paas";`} {
			if has := strings.Contains(c, s); has != paas {
				t.Errorf("paasHeaders=%v: %q present=%v\n%s", paas, s, has, c)
			}
		}
	}
}
