package main

import (
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWidenPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	widenPipe(w)
	n, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != pipeSize {
		t.Fatalf("pipe of %d bytes, want %d", n, pipeSize)
	}
	// A file that is not a pipe is left alone.
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	widenPipe(f)
}

func TestLogsWidensStdoutUnlessTerminal(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		for _, cmd := range []string{"logs", "ps"} {
			env := envOf(map[string]string{"PAAS_HOST": "paas@h"}, "")
			env.Stdout, env.Stderr = io.Discard, io.Discard
			ran := false
			env.Exec = func([]string) error { ran = true; return nil }
			env.StdoutIsTerminal = terminal
			widened := false
			env.WidenStdout = func() { widened = true }
			Main([]string{"-a", "blog", cmd}, env)
			if !ran {
				t.Fatalf("%s did not run ssh", cmd)
			}
			if want := cmd == "logs" && !terminal; widened != want {
				t.Errorf("%s, terminal %v: widened %v", cmd, terminal, widened)
			}
		}
	}
}
