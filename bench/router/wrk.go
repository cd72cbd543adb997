package main

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

// wrkResult is what one wrk run reports.
type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	requests int64
	errors   int64 // socket errors plus non-2xx/3xx responses
}

// runWrk drives url with conns keep-alive connections for d and parses
// wrk's report.
func runWrk(ctx context.Context, url string, threads, conns int, d time.Duration) (wrkResult, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	threads = min(threads, conns)
	c := exec.CommandContext(ctx, "wrk", "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(secs)+"s", "--latency", "-H", "Host: "+benchHost, url)
	out, err := c.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	return res, nil
}

// parseWrk reads the figures of a wrk --latency report:
//
//	  Latency Distribution
//	     50%  210.00us
//	     99%    1.20ms
//	  123456 requests in 5.00s, 12.34MB read
//	  Socket errors: connect 0, read 0, write 0, timeout 0
//	  Non-2xx or 3xx responses: 12
//	Requests/sec:  24691.20
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, have50, have99, haveN bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("bad Requests/sec %q", f[1])
			}
			r.rps, haveRPS = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			if f[0] == "50%" {
				r.p50, have50 = d, true
			} else {
				r.p99, have99 = d, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("bad request count %q", f[0])
			}
			r.requests, haveN = n, true
		case len(f) >= 2 && f[0] == "Socket" && f[1] == "errors:":
			// connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				if err != nil {
					return r, fmt.Errorf("bad socket errors line %q", sc.Text())
				}
				r.errors += n
			}
		case len(f) == 5 && f[0] == "Non-2xx":
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return r, fmt.Errorf("bad Non-2xx line %q", sc.Text())
			}
			r.errors += n
		}
	}
	if !haveRPS || !have50 || !have99 || !haveN {
		return r, fmt.Errorf("no requests/s, latency distribution or request count in wrk's report")
	}
	return r, nil
}

// parseWrkDuration parses wrk's latency figures: "210.00us", "1.20ms",
// "2.01s", "1.50m".
func parseWrkDuration(s string) (time.Duration, error) {
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
