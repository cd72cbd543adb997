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

// runWrk drives url, with the Host header host, over conns keep-alive
// connections for d, as the router benchmark does, and parses wrk's
// report.
func runWrk(ctx context.Context, url, host string, threads, conns int, d time.Duration) (wrkResult, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	c := exec.CommandContext(ctx, "wrk", "-t"+strconv.Itoa(min(threads, conns)), "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(secs)+"s", "--latency", "-H", "Host: "+host, url)
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
		var err error
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rps, err = strconv.ParseFloat(f[1], 64)
			haveRPS = err == nil
		case len(f) == 2 && f[0] == "50%":
			r.p50, err = parseWrkDuration(f[1])
			have50 = err == nil
		case len(f) == 2 && f[0] == "99%":
			r.p99, err = parseWrkDuration(f[1])
			have99 = err == nil
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			r.requests, err = strconv.ParseInt(f[0], 10, 64)
			haveN = err == nil
		case len(f) >= 2 && f[0] == "Socket" && f[1] == "errors:":
			// connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f) && err == nil; i += 2 {
				var n int64
				n, err = strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				r.errors += n
			}
		case len(f) == 5 && f[0] == "Non-2xx":
			var n int64
			n, err = strconv.ParseInt(f[4], 10, 64)
			r.errors += n
		}
		if err != nil {
			return r, fmt.Errorf("bad line %q in wrk's report", sc.Text())
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
