// Command deploy measures redeploys under load. For each runtime (exec,
// and docker when an engine answers and the stack image exists) it starts
// paasd on loopback ports with a fresh data dir, pushes the graceful test
// app, and while a load generator keeps 32 keep-alive connections busy
// through the router, pushes changed commits one after another. It reports
// the requests served and failed (by status and error) and the switch time
// of each redeploy: the first response from the new release minus the end
// of git push (negative when the router switched before git push
// returned). It prints a table and writes it to bench/results/deploy.txt.
//
//	go run ./bench/deploy [-redeploys 5] [-conns 32] [-runtimes exec,docker] [-timeout 30m]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const resultsFile = "bench/results/deploy.txt"

func main() {
	redeploys := flag.Int("redeploys", 5, "changed commits pushed under load")
	conns := flag.Int("conns", 32, "keep-alive connections of load")
	runtimes := flag.String("runtimes", "exec,docker", "runtimes to measure")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := run(ctx, *redeploys, *conns, strings.Split(*runtimes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, redeploys, conns int, runtimes []string) error {
	if _, err := os.Stat(appSource); err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	root, err := os.MkdirTemp("", "paas-bench-deploy")
	if err != nil {
		return fmt.Errorf("making a temp dir: %w", err)
	}
	defer os.RemoveAll(root)
	bin, err := buildPaasd(ctx, root)
	if err != nil {
		return err
	}

	var table bytes.Buffer
	w := io.MultiWriter(os.Stdout, &table)
	writeHeader(w, redeploys, conns)
	var failed, details []string
	for _, rt := range runtimes {
		if rt == "docker" {
			if err := dockerReady(); err != nil {
				fmt.Fprintf(w, "%-8s skipped: %v\n", rt, err)
				continue
			}
		}
		m := measureRuntime(ctx, bin, filepath.Join(root, rt), rt, redeploys, conns)
		details = append(details, writeRow(w, m)...)
		if m.err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", rt, m.err))
		}
	}
	writeDetails(w, details)
	if err := os.MkdirAll(filepath.Dir(resultsFile), 0o755); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	if err := os.WriteFile(resultsFile, table.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "\n"))
	}
	return nil
}

// measureRuntime runs one paasd with runtime rt, measures and cleans up.
func measureRuntime(ctx context.Context, bin, dir, rt string, redeploys, conns int) measurement {
	p, err := startPaasd(bin, dir, rt)
	if err != nil {
		return measurement{runtime: rt, err: err}
	}
	m := measure(ctx, p, rt, redeploys, conns)
	if err := p.stop(appName); err != nil && m.err == nil {
		m.err = err
	}
	if m.err != nil {
		m.err = fmt.Errorf("%w\npaasd's last log lines:\n%s", m.err, p.out.tail())
	}
	return m
}

// buildPaasd builds a static paasd into dir.
func buildPaasd(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "paasd")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/paasd")
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building paasd: %w\n%s", err, out)
	}
	return bin, nil
}
