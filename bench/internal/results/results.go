// Package results is what the benchmark programs share around their
// measurements: flags, signals, exit status, and the table printed as it
// is measured and saved under bench/results.
package results

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
)

// Main runs a benchmark program named name. It adds the flag -out (the
// file the table is saved to, by default bench/results/NAME.txt), parses
// the flags, and calls run with a context that ends on SIGINT or SIGTERM
// and a table whose first line names the machine. It exits 0 when run
// returns nil, else 1 after printing the error.
func Main(name string, run func(ctx context.Context, w *Table) error) {
	out := flag.String("out", filepath.Join("bench", "results", name+".txt"), "file the table is written to")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, newTable(*out, os.Stdout))
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Table prints to standard output and keeps what it printed.
type Table struct {
	io.Writer
	path string
	kept bytes.Buffer
}

func newTable(path string, print io.Writer) *Table {
	t := &Table{path: path}
	t.Writer = io.MultiWriter(print, &t.kept)
	host, _ := os.Hostname()
	cpus, _ := exec.Command("nproc").Output()
	fmt.Fprintf(t, "machine: %s, %s cores\n", host, strings.TrimSpace(string(cpus)))
	return t
}

// Save writes the table to the -out file, making its directory when
// missing.
func (t *Table) Save() error {
	if err := os.MkdirAll(filepath.Dir(t.path), 0o755); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	if err := os.WriteFile(t.path, t.kept.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}
