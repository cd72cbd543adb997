package wrk

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, report string
		want         Result
	}{{
		name: "router",
		report: `Running 5s test @ http://127.0.0.1:41234/
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
`,
		want: Result{RPS: 77846.20, P50: 350 * time.Microsecond, P99: 1520 * time.Microsecond, Requests: 389231, Errors: 11},
	}, {
		name: "swarm",
		report: `Running 3s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Latency Distribution
     50%  612.00us
     75%    1.10ms
     99%   12.50ms
  40000 requests in 3.00s, 7.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  13333.33
Transfer/sec:      2.37MB
`,
		want: Result{RPS: 13333.33, P50: 612 * time.Microsecond, P99: 12500 * time.Microsecond, Requests: 40000, Errors: 7},
	}} {
		r, err := Parse(c.report)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if r != c.want {
			t.Errorf("%s: Parse = %+v, want %+v", c.name, r, c.want)
		}
	}
	for _, bad := range []string{
		"unable to connect to 127.0.0.1:1 Connection refused\n", // no figures
		"Requests/sec: 1\n",  // no latencies
		"     50%  12.0xs\n", // a bad latency
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse accepted %q", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"210.00us": 210 * time.Microsecond,
		"1.20ms":   1200 * time.Microsecond,
		"2.01s":    2010 * time.Millisecond,
		"1.50m":    90 * time.Second,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ms", "1.2", "-1ms", "xus"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}
