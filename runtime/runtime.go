// Package runtime starts, stops, lists and watches process instances. The
// exec implementation runs them as local process groups; a docker one runs
// them as containers. Both satisfy the same method set, which deploy
// declares as the interface it uses.
package runtime

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrArtifactMissing is wrapped by Start's error when the release's build
// artifact (its slug directory or image) is not there.
var ErrArtifactMissing = errors.New("build artifact missing")

// Spec describes one instance to start.
type Spec struct {
	App     string
	Release int    // release version
	Type    string // process type: web, worker, run
	Index   int    // 1-based; for one-offs a random number
	// Command is the Procfile command, run by bash -c (sh -c without
	// bash). Empty means the image's own entrypoint and command (docker).
	Command string
	// Env is the complete environment the process sees besides what the
	// runtime adds itself (PORT for web instances, HOME, PATH defaults).
	Env map[string]string
	// Slug is the build artifact: a slug directory for exec, an image
	// reference for docker.
	Slug string
	// Web asks for a port: the runtime sets PORT and reports Instance.Addr.
	Web bool
	// Port is the port a web process listens on inside a container (a
	// Dockerfile's EXPOSE); 0 means the runtime's default. A runtime that
	// picks ports itself (exec) ignores it.
	Port int
	// Memory is a memory limit in bytes; 0 means none.
	Memory int64
	// CPUs is a CPU limit in cores (0.5 = half a core); 0 means none.
	CPUs float64
	// StopTimeout is the grace between SIGTERM and SIGKILL the runtime
	// applies when the instance is stopped from outside paasd (docker
	// stop); 0 leaves the runtime's default.
	StopTimeout time.Duration
}

// Name returns the instance name: "web.1".
func (s Spec) Name() string { return fmt.Sprintf("%s.%d", s.Type, s.Index) }

// Instance is a started process instance.
type Instance struct {
	ID      string // runtime-specific, unique
	App     string
	Release int
	Type    string
	Index   int
	Command string
	// Addr is host:port the router should send traffic to (web only).
	Addr string
	// Direct, when set, is the address of the web process itself, with
	// nothing in between that accepts for it: a connection it accepts
	// means the process listens (ProbeDirect). "" when the runtime has
	// none this process can reach.
	Direct string
	// Port is the PORT the web process was told to listen on (in its
	// container, for docker); 0 when unknown or not web.
	Port    int
	Started time.Time
	// Node names the machine it runs on, for a runtime of several
	// (swarm); "" otherwise.
	Node string
}

// Name returns the instance name: "web.1".
func (i Instance) Name() string { return fmt.Sprintf("%s.%d", i.Type, i.Index) }

// Exit reports that an instance's process ended.
type Exit struct {
	Instance Instance
	// Code is the exit status as a shell reports it: 128+N when signal
	// N ended the process (the engine reports a container's the same
	// way); -1 when it is unknown.
	Code int
	// Signal names the signal a Code above 128 stands for ("SIGKILL"),
	// "" for an ordinary exit.
	Signal string
	Err    error // set when waiting itself failed
	// Stopped is true when the exit followed a Stop call.
	Stopped bool
	At      time.Time
}

// LineSink receives the lines instances write to stdout and stderr,
// without their trailing newlines, in batches: the lines of one batch
// come from one instance, in the order it wrote them. Neither the slice
// nor the lines may be kept after the call returns.
type LineSink interface {
	Lines(app, instance string, release int, lines [][]byte)
}

// WindowSize is a terminal size.
type WindowSize struct {
	Cols, Rows uint16
}

// Stdio attaches a one-off process to a caller.
type Stdio struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer // ignored with a TTY: the terminal carries both
	TTY    bool
	Term   string
	Window WindowSize
	// Resize delivers window-size changes; it may be nil.
	Resize <-chan WindowSize
	// Started, when set, is called once the process has started.
	Started func()
}

// SignalName names the signal an exit status above 128 stands for, as
// shells and the engine report one ("SIGKILL" for 137); "" for any other
// status.
func SignalName(code int) string {
	if code <= 128 || code > 128+64 {
		return ""
	}
	name := unix.SignalName(syscall.Signal(code - 128))
	if name == "" {
		return fmt.Sprintf("signal %d", code-128)
	}
	return name
}

// ExitHint explains the exit statuses that shells and the engine give,
// as " (…)" to follow the status; "" for the others.
func ExitHint(code int) string {
	switch code {
	case 126:
		return " (command not executable)"
	case 127:
		return " (command not found: check the Procfile)"
	case 137:
		return " (SIGKILL: out of memory, or killed)"
	case -1:
		return " (status unknown)"
	}
	if sig := SignalName(code); sig != "" {
		return " (" + sig + ")"
	}
	return ""
}
