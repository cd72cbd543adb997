package builder

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// executor is where the steps of one build run: on the host as process
// groups, or as execs in a build container. Steps name files by the host
// paths of the build; path translates them into the executor's view.
type executor interface {
	// path returns how a step sees the host path p.
	path(p string) string
	// env is the environment of every build step.
	env() []string
	// run runs c, whose argv and dir are in the executor's view, and
	// returns an *exitError-like error (see exited) when it ran and failed.
	run(ctx context.Context, c command) error
	// close releases what the executor holds; it runs after every build,
	// and may run earlier too: later calls do nothing.
	close()
}

// hostExecutor runs build steps as host processes: paths are as they are.
// Every step carries the build's PAAS_BUILD_ID, and track records its
// process group while it runs (see ReapOrphans).
type hostExecutor struct {
	environ []string
	id      string               // the build's PAAS_BUILD_ID
	track   func(pid int) func() // records a step; returns what forgets it
	cred    *syscall.Credential  // the user steps run as; nil: this process's
}

func (h hostExecutor) path(p string) string { return p }

func (h hostExecutor) env() []string { return h.environ }

func (h hostExecutor) run(ctx context.Context, c command) error {
	c.env = append(slices.Clip(c.env), buildIDVar+"="+h.id)
	if h.track != nil {
		var untrack func()
		c.onStart = func(pid int) { untrack = h.track(pid) }
		defer func() {
			if untrack != nil {
				untrack()
			}
		}()
	}
	c.cred = h.cred
	return run(ctx, c)
}

func (h hostExecutor) close() {}

// pathMap is one host directory as an executor sees it.
type pathMap struct {
	host, view string
}

// translate maps p through the longest matching host prefix of maps; a
// path outside every mapped directory is returned unchanged.
func translate(maps []pathMap, p string) string {
	best := -1
	for i, m := range maps {
		if p != m.host && !strings.HasPrefix(p, m.host+string(filepath.Separator)) {
			continue
		}
		if best < 0 || len(m.host) > len(maps[best].host) {
			best = i
		}
	}
	if best < 0 {
		return p
	}
	m := maps[best]
	return filepath.ToSlash(filepath.Join(m.view, strings.TrimPrefix(p, m.host)))
}

// exitError is how a build step in a container exited unsuccessfully.
type exitError struct {
	code int
}

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
