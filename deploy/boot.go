package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"paas"
	"paas/runtime"
	"paas/shellwords"
)

// bootProgress is how often a push is told that a web instance is still
// not listening.
const bootProgress = 5 * time.Second

// Pauses between two connection attempts of waitListening: to the
// process's own address (cheap: refused at once), or through the
// runtime's proxy (each attempt is held open a while).
const (
	directProbeEvery = 5 * time.Millisecond
	proxyProbeEvery  = 20 * time.Millisecond
)

// waitListening polls an instance's port until it listens, the instance
// exits or ctx ends: a connection to the process's own address
// (Instance.Direct) accepted, or else one to its Addr held open. While it
// waits it writes a line to out every bootProgress.
func (s *Service) waitListening(ctx context.Context, st *appState, in *instance, out io.Writer) error {
	if !in.spec.Web {
		return nil
	}
	start := time.Now()
	next := start.Add(bootProgress)
	direct := in.inst.Direct
	for {
		st.mu.Lock()
		state, code := in.state, in.exitCode
		st.mu.Unlock()
		if state == "crashed" {
			return paas.Errorf("%s exited with status %d%s before listening on $PORT%s", in.name(), code, startHint(in, code), portValue(in))
		}
		every := proxyProbeEvery
		if direct != "" {
			err := runtime.ProbeDirect(ctx, direct)
			if err == nil {
				return nil
			}
			every = directProbeEvery
			if !errors.Is(err, runtime.ErrNotListening) && ctx.Err() == nil {
				s.log.Info("instance address not reachable: probing through its published port", "app", st.name, "instance", in.name(), "addr", direct, "err", err)
				direct = ""
			}
		} else if err := runtime.Probe(ctx, in.inst.Addr); err == nil {
			// A container's published port is answered by the engine's
			// proxy before the process listens: a connection counts
			// only when it is held open.
			return nil
		}
		if now := time.Now(); out != nil && !now.Before(next) {
			fmt.Fprintf(out, "       waiting for %s to listen on %s (%s)\n", in.name(), portName(in), now.Sub(start).Round(time.Second))
			next = next.Add(bootProgress)
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return paas.Errorf("%s did not listen on $PORT%s within %s", in.name(), portValue(in), s.cfg.BootTimeout)
			}
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// portValue is " (5000)": the value of the instance's $PORT, when known.
func portValue(in *instance) string {
	if in.inst.Port == 0 {
		return ""
	}
	return " (" + strconv.Itoa(in.inst.Port) + ")"
}

// portName is "port 5000", or "$PORT" when its value is unknown.
func portName(in *instance) string {
	if in.inst.Port == 0 {
		return "$PORT"
	}
	return "port " + strconv.Itoa(in.inst.Port)
}

// startHint explains the exit status of an instance that ended as it
// started; for a command the shell did not find, it names the command.
func startHint(in *instance, code int) string {
	if code != 127 || in.spec.Command == "" {
		return runtime.ExitHint(code)
	}
	name := ""
	if words, err := shellwords.Split(in.spec.Command); err == nil {
		// The program is the first word that is neither exec nor a
		// variable assignment.
		for _, w := range words {
			if w != "exec" && !strings.Contains(w, "=") {
				name = w
				break
			}
		}
	}
	if name == "" || strings.ContainsAny(name, "$`") {
		return fmt.Sprintf(" (command not found: %s runs %s, which needs a program the app does not have: check the Procfile)", in.spec.Type, shellwords.Display(in.spec.Command))
	}
	return fmt.Sprintf(" (command not found: %s runs %s and the app has no %s: check the Procfile and the buildpack)", in.spec.Type, shellwords.Display(in.spec.Command), shellwords.Display(name))
}
