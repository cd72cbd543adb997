package main

import (
	"strings"
	"testing"
	"time"
)

const wrkReport = `Running 5s test @ http://127.0.0.1:41234/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.31us  301.22us  12.01ms   91.02%
    Req/Sec    39.12k     2.01k   44.30k    70.00%
  Latency Distribution
     50%  350.00us
     75%  480.12us
     90%  640.55us
     99%    1.52ms
  389231 requests in 5.00s, 38.21MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:  77846.20
Transfer/sec:      7.64MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{rps: 77846.20, p50: 350 * time.Microsecond, p99: 1520 * time.Microsecond, requests: 389231, errors: 11}
	if r != want {
		t.Fatalf("parseWrk = %+v, want %+v", r, want)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Fatal("parseWrk accepted a report without figures")
	}
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"210.00us": 210 * time.Microsecond,
		"1.20ms":   1200 * time.Microsecond,
		"2.01s":    2010 * time.Millisecond,
		"1.50m":    90 * time.Second,
	} {
		got, err := parseWrkDuration(in)
		if err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ms", "1.2", "-1ms", "xus"} {
		if _, err := parseWrkDuration(bad); err == nil {
			t.Errorf("parseWrkDuration(%q) accepted", bad)
		}
	}
}

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
		c := nginxConfig("/tmp/x", "127.0.0.1:1", "127.0.0.1:2", keepalive)
		for _, s := range []string{"keepalive 256;", "proxy_http_version 1.1;", `proxy_set_header Connection "";`} {
			if has := strings.Contains(c, s); has != keepalive {
				t.Errorf("keepalive=%v: %q present=%v\n%s", keepalive, s, has, c)
			}
		}
		if !strings.Contains(c, "listen 127.0.0.1:1;") || !strings.Contains(c, "server 127.0.0.1:2;") {
			t.Errorf("addresses missing:\n%s", c)
		}
	}
}
