package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"paas/bench/internal/wrk"
)

// profileRouter runs a router of its own with a CPU profile while wrk
// drives it with conns connections and small responses for d, and returns
// the top of go tool pprof's report, by own time and by cumulative time.
func profileRouter(ctx context.Context, root string, backend *proc, threads, conns int, d time.Duration) (string, error) {
	file := filepath.Join(root, "router.pprof")
	p, err := startSelf("router", "-backend", backend.addr, "-cpuprofile", file)
	if err != nil {
		return "", err
	}
	res, err := wrk.Run(ctx, "http://"+p.addr+smallPath, benchHost, threads, conns, d)
	p.stop()
	if err != nil {
		return "", err
	}
	if p.err != nil {
		return "", fmt.Errorf("profiled router: %w\n%s", p.err, p.out)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CPU profile of the router: wrk -c%d, %s responses, %.0f req/s while profiled\n", conns, sizeName(smallSize), res.RPS)
	for _, order := range [][]string{{"-top"}, {"-top", "-cum"}} {
		args := append([]string{"tool", "pprof"}, order...)
		args = append(args, "-nodecount=25", exe, file)
		out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		fmt.Fprintf(&b, "\ngo %s\n%s", strings.Join(args[:len(args)-2], " "), pprofBody(string(out)))
	}
	return b.String(), nil
}

// pprofBody drops pprof's header lines that name files and build ids,
// from its output, keeping the totals line and the table.
func pprofBody(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") ||
			strings.HasPrefix(line, "Type:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}
