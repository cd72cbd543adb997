package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

var testEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello"}

// serve starts an agent on pipes and returns a client of it.
func serve(t *testing.T) *Client {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Serve(inR, outW)
		outW.CloseWithError(io.EOF)
		done <- err
	}()
	t.Cleanup(func() {
		inW.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return NewClient(inW, outR, func() { inW.Close(); outR.Close() })
}

// step runs argv and returns its output and status.
func step(t *testing.T, c *Client, s Step) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if s.Env == nil {
		s.Env = testEnv
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	code, err := c.Run(ctx, s, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Run %q: %v", s.Argv, err)
	}
	return stdout.String(), stderr.String(), code
}

func TestStepsRunInTurn(t *testing.T) {
	c := serve(t)
	dir := t.TempDir()
	out, errOut, code := step(t, c, Step{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
	if out != "out\n" || errOut != "err\n" || code != 3 {
		t.Errorf("first step: stdout %q stderr %q status %d", out, errOut, code)
	}
	out, _, code = step(t, c, Step{Argv: []string{"sh", "-c", `echo "$GREETING from $(pwd)"`}, Dir: dir})
	if out != "hello from "+dir+"\n" || code != 0 {
		t.Errorf("second step: stdout %q status %d", out, code)
	}
	out, _, code = step(t, c, Step{Argv: []string{"env"}, Env: []string{"PATH=/usr/bin:/bin", "ONLY=this"}})
	if out != "PATH=/usr/bin:/bin\nONLY=this\n" || code != 0 {
		t.Errorf("a step's environment is its own: %q, status %d", out, code)
	}
}

func TestStepStatuses(t *testing.T) {
	c := serve(t)
	if _, _, code := step(t, c, Step{Argv: []string{"sh", "-c", "kill -TERM $$"}}); code != 128+15 {
		t.Errorf("a step killed by SIGTERM: status %d, want 143", code)
	}
	_, errOut, code := step(t, c, Step{Argv: []string{"no-such-program-here"}})
	if code != 127 || !strings.Contains(errOut, "no-such-program-here") {
		t.Errorf("a program not found: status %d, stderr %q", code, errOut)
	}
	file := t.TempDir() + "/not-executable"
	if err := os.WriteFile(file, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, code := step(t, c, Step{Argv: []string{file}}); code != 126 {
		t.Errorf("a file that cannot be run: status %d, want 126", code)
	}
	if _, _, code := step(t, c, Step{}); code != 126 {
		t.Errorf("a step with no command: status %d, want 126", code)
	}
	// The agent still serves.
	if out, _, code := step(t, c, Step{Argv: []string{"echo", "still"}}); out != "still\n" || code != 0 {
		t.Errorf("after failed steps: %q %d", out, code)
	}
}

func TestLargeOutputIsWhole(t *testing.T) {
	c := serve(t)
	out, _, code := step(t, c, Step{Argv: []string{"head", "-c", "3000000", "/dev/zero"}})
	if code != 0 || len(out) != 3000000 || strings.Trim(out, "\x00") != "" {
		t.Errorf("3 MB of output: got %d bytes, status %d", len(out), code)
	}
}

// A process a step leaves behind with the step's output open does not
// hold the step up, and its later output is not the next step's.
func TestLeftBehindProcessDoesNotHoldTheStep(t *testing.T) {
	c := serve(t)
	out, _, code := step(t, c, Step{Argv: []string{"sh", "-c", "(sleep 1; echo late) & echo now"}})
	if out != "now\n" || code != 0 {
		t.Errorf("step: %q, %d", out, code)
	}
	out, _, _ = step(t, c, Step{Argv: []string{"sh", "-c", "sleep 2; echo next"}})
	if out != "next\n" {
		t.Errorf("the next step's output: %q", out)
	}
}

func TestCanceledStepBreaksTheClient(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(inR, outW) }()
	c := NewClient(inW, outR, func() { inW.Close(); outR.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := c.Run(ctx, Step{Argv: []string{"sh", "-c", "sleep 1; echo after"}, Env: testEnv}, io.Discard, io.Discard)
	// The agent finds its peer gone once the step writes or ends.
	if serr := <-done; serr == nil {
		t.Error("Serve went on after its peer closed the connection")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled step: %v", err)
	}
	if _, err := c.Run(t.Context(), Step{Argv: []string{"true"}, Env: testEnv}, io.Discard, io.Discard); err == nil {
		t.Error("a client whose step was cut off runs another")
	}
}

func TestClientRefusesMalformedFrames(t *testing.T) {
	for name, stream := range map[string][]byte{
		"unknown kind":     {'z', 0, 0, 0, 1, 'a'},
		"oversized":        {'o', 0x7f, 0, 0, 0},
		"short exit":       {'x', 0, 0, 0, 2, 0, 0},
		"truncated":        {'o', 0, 0, 0, 9, 'a'},
		"ended, no status": {'o', 0, 0, 0, 1, 'a'},
	} {
		t.Run(name, func(t *testing.T) {
			c := NewClient(io.Discard, bytes.NewReader(stream), func() {})
			var out bytes.Buffer
			if code, err := c.Run(t.Context(), Step{Argv: []string{"x"}}, &out, &out); err == nil {
				t.Errorf("status %d, no error", code)
			}
			if _, err := c.Run(t.Context(), Step{Argv: []string{"x"}}, &out, &out); err == nil {
				t.Error("a broken client runs another step")
			}
		})
	}
}
