package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// dockerBaseline runs the writer in a plain container of the stack image
// with Docker's json-file log driver and reads the container's output
// stream directly (docker run attached), for the engine's own rate.
func dockerBaseline(w io.Writer, total int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "info").Run(); err != nil {
		return fmt.Errorf("no engine answers: %v", err)
	}
	// The writer ticks forever after its lines; the reader stops it.
	cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "--log-driver", "json-file",
		"-e", fmt.Sprintf("LINES=%d", total), "-e", "TAG=d", "-e", "DYNO=docker.1",
		"paas/stack:bookworm", "python3", "-c", writerApp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cancel(); cmd.Wait() }()
	sc := bufio.NewScanner(out)
	var first, last time.Time
	n := 0
	for sc.Scan() && n < total {
		if f := strings.Fields(sc.Text()); len(f) == 4 {
			if n == 0 {
				first = time.Now()
			}
			n++
			last = time.Now()
		}
	}
	if n < total {
		return fmt.Errorf("read %d of %d lines", n, total)
	}
	fmt.Fprintf(w, "docker json-file, one container, output stream read directly: %.0f lines/s\n", float64(n)/last.Sub(first).Seconds())
	return nil
}
