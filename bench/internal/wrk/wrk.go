// Package wrk runs the wrk HTTP load generator for the benchmark programs
// and reads the figures of its report.
package wrk

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Result is what one wrk run reports.
type Result struct {
	RPS      float64
	P50, P99 time.Duration
	Requests int64
	Errors   int64 // socket errors plus non-2xx/3xx responses
}

// Run drives url, with the Host header host, over conns keep-alive
// connections for d (rounded to whole seconds, at least one) with at most
// threads threads, no more than conns, and parses wrk's report.
func Run(ctx context.Context, url, host string, threads, conns int, d time.Duration) (Result, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	threads = min(threads, conns)
	c := exec.CommandContext(ctx, "wrk", "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(secs)+"s", "--latency", "-H", "Host: "+host, url)
	out, err := c.CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	res, err := Parse(string(out))
	if err != nil {
		return Result{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	return res, nil
}

// Parse reads the figures of a wrk --latency report:
//
//	  Latency Distribution
//	     50%  210.00us
//	     99%    1.20ms
//	  123456 requests in 5.00s, 12.34MB read
//	  Socket errors: connect 0, read 0, write 0, timeout 0
//	  Non-2xx or 3xx responses: 12
//	Requests/sec:  24691.20
func Parse(report string) (Result, error) {
	var r Result
	var haveRPS, have50, have99, haveN bool
	sc := bufio.NewScanner(strings.NewReader(report))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("bad Requests/sec %q", f[1])
			}
			r.RPS, haveRPS = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := ParseDuration(f[1])
			if err != nil {
				return r, err
			}
			if f[0] == "50%" {
				r.P50, have50 = d, true
			} else {
				r.P99, have99 = d, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("bad request count %q", f[0])
			}
			r.Requests, haveN = n, true
		case len(f) >= 2 && f[0] == "Socket" && f[1] == "errors:":
			// connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				if err != nil {
					return r, fmt.Errorf("bad socket errors line %q", sc.Text())
				}
				r.Errors += n
			}
		case len(f) == 5 && f[0] == "Non-2xx":
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return r, fmt.Errorf("bad Non-2xx line %q", sc.Text())
			}
			r.Errors += n
		}
	}
	if !haveRPS || !have50 || !have99 || !haveN {
		return r, fmt.Errorf("no requests/s, latency distribution or request count in wrk's report")
	}
	return r, nil
}

// ParseDuration parses wrk's latency figures: "210.00us", "1.20ms",
// "2.01s", "1.50m".
func ParseDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}, {"h", time.Hour}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return 0, fmt.Errorf("bad latency %q", s)
			}
			return time.Duration(math.Round(f * float64(u.unit))), nil
		}
	}
	return 0, fmt.Errorf("bad latency %q", s)
}
