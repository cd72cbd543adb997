package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// drainTimeout bounds how long output is still copied after a command's
// process group is gone, in case something outside the group holds the
// pipe open.
const drainTimeout = 5 * time.Second

// command is one buildpack script or git invocation.
type command struct {
	argv   []string
	dir    string
	env    []string
	stdout io.Writer // nil discards
	stderr io.Writer // nil discards; may equal stdout
	// onStart, when set, is called with the process (and group) id once
	// the command runs.
	onStart func(pid int)
	// cred is the user a host command runs as; nil: this process's.
	cred *syscall.Credential
}

// run runs c in its own process group. When ctx is done the whole group is
// killed; when the leader exits, whatever it left running in the group is
// killed too, so no build step outlives its build.
func run(ctx context.Context, c command) error {
	argv := c.argv
	if c.cred != nil && c.cred.Uid != 0 {
		argv = capProcs(argv)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	var finishers []func()
	outW, finish, err := pipeTo(c.stdout)
	if err != nil {
		return err
	}
	finishers = append(finishers, finish)
	cmd.Stdout = outW
	cmd.Stderr = outW
	if c.stderr != c.stdout {
		errW, finish, err := pipeTo(c.stderr)
		if err != nil {
			finishers[0]()
			return err
		}
		finishers = append(finishers, finish)
		cmd.Stderr = errW
	}

	err = cmd.Start()
	if err == nil {
		if c.onStart != nil {
			c.onStart(cmd.Process.Pid)
		}
		err = cmd.Wait()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	for _, f := range finishers {
		f()
	}
	if err != nil {
		return fmt.Errorf("running %s: %w", c.argv[0], err)
	}
	return nil
}

// buildProcs caps the processes and threads of an app's user while a
// build step runs as it (RLIMIT_NPROC, which the kernel counts per user,
// the app's running instances included), as the pids limit of a build
// container does on docker: a fork bomb in a build stops there.
const buildProcs = 1024

// prlimitPath is util-linux's prlimit, "" when the host has none.
var prlimitPath = sync.OnceValue(func() string {
	p, err := exec.LookPath("prlimit")
	if err != nil {
		return ""
	}
	return p
})

// capProcs returns argv run under the build's process cap: prlimit sets
// it on itself, then executes argv. Without prlimit argv is unchanged.
func capProcs(argv []string) []string {
	p := prlimitPath()
	if p == "" {
		return argv
	}
	return append([]string{p, "--nproc=" + strconv.Itoa(buildProcs), "--"}, argv...)
}

// pipeTo returns the write end of a pipe whose read end is copied to w, and
// a function that closes the write end and waits for the copy to finish.
func pipeTo(w io.Writer) (*os.File, func(), error) {
	if w == nil {
		w = io.Discard
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("making output pipe: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A writer that fails (the pusher hung up) must not block the
		// command on a full pipe: the rest is drained and dropped.
		io.Copy(w, pr)
		io.Copy(io.Discard, pr)
	}()
	finish := func() {
		pw.Close()
		select {
		case <-done:
		case <-time.After(drainTimeout):
			pr.Close()
			<-done
		}
		pr.Close()
	}
	return pw, finish, nil
}

// exitText describes how a command ended: "exit status 2", "killed by
// signal killed".
func exitText(err error) string {
	var ce *exitError
	if errors.As(err, &ce) {
		if ce.code > 128 && ce.code <= 128+64 {
			return fmt.Sprintf("killed by signal %s (exit status %d)", syscall.Signal(ce.code-128), ce.code)
		}
		return ce.Error()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	return "could not run"
}

// exited reports whether err says a command ran and exited unsuccessfully,
// as opposed to not running at all.
func exited(err error) bool {
	var ee *exec.ExitError
	var ce *exitError
	return errors.As(err, &ee) || errors.As(err, &ce)
}

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
