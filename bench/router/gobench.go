package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// goBenchCmd is the command that measures the router handler's
// allocations per request.
var goBenchCmd = []string{"go", "test", "-run", "^$", "-bench", "BenchmarkRouter", "-benchmem", "./router"}

// goBench is one line of go test -bench output.
type goBench struct {
	name        string
	nsPerOp     float64
	bytesPerOp  int64
	allocsPerOp int64
}

// runGoBench runs the router's Go benchmarks from the repository root.
func runGoBench(ctx context.Context) ([]goBench, error) {
	c := exec.CommandContext(ctx, goBenchCmd[0], goBenchCmd[1:]...)
	out, err := c.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", strings.Join(goBenchCmd, " "), err, out)
	}
	bs := parseGoBench(string(out))
	if len(bs) == 0 {
		return nil, fmt.Errorf("%s: no benchmark results\n%s", strings.Join(goBenchCmd, " "), out)
	}
	return bs, nil
}

// parseGoBench reads the result lines of go test -bench -benchmem:
//
//	BenchmarkRouterServeHTTP/12B-2  20000  52000 ns/op  0.23 MB/s  4100 B/op  52 allocs/op
func parseGoBench(out string) []goBench {
	var bs []goBench
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		b := goBench{name: strings.TrimPrefix(f[0], "Benchmark"), bytesPerOp: -1, allocsPerOp: -1}
		if i := strings.LastIndexByte(b.name, '-'); i > 0 {
			if _, err := strconv.Atoi(b.name[i+1:]); err == nil {
				b.name = b.name[:i] // the GOMAXPROCS suffix
			}
		}
		ok := false
		for i := 2; i+1 < len(f); i += 2 {
			v, unit := f[i], f[i+1]
			switch unit {
			case "ns/op":
				n, err := strconv.ParseFloat(v, 64)
				b.nsPerOp, ok = n, err == nil
			case "B/op":
				b.bytesPerOp, _ = strconv.ParseInt(v, 10, 64)
			case "allocs/op":
				b.allocsPerOp, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if ok {
			bs = append(bs, b)
		}
	}
	return bs
}
