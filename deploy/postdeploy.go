package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"paas"
	"paas/logs"
	"paas/runtime"
)

// postdeploy runs app.json's scripts.postdeploy once, after the app's
// first deploy went live: a one-off of rel with its config, its output
// going to out and to the app's log as postdeploy.1. The release stays
// live whatever its outcome; a failure is reported on out and as an
// event, and the command is not run again by later deploys.
func (s *Service) postdeploy(ctx context.Context, rel paas.Release, cmd string, out io.Writer) {
	if out == nil {
		out = io.Discard
	}
	fmt.Fprintf(out, "-----> Running postdeploy command: %s\n", cmd)
	s.eventRel(rel.App, rel.Version, "Postdeploy of %s started: %s", rel.Name(), cmd)
	err := s.runPostdeploy(ctx, rel, cmd, out)
	if err != nil {
		reason := reasonOf(err)
		fmt.Fprintf(out, " !     %s; %s stays live and postdeploy is not run again\n", reason, rel.Name())
		s.eventRel(rel.App, rel.Version, "Postdeploy of %s failed: %s", rel.Name(), reason)
		return
	}
	s.eventRel(rel.App, rel.Version, "Postdeploy of %s succeeded", rel.Name())
}

func (s *Service) runPostdeploy(ctx context.Context, rel paas.Release, cmd string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReleaseTimeout)
	defer cancel()
	spec := runtime.Spec{App: rel.App, Release: rel.Version, Type: "postdeploy", Index: 1, Command: cmd, Slug: rel.Slug}
	spec.Env = instanceEnv(rel, spec.Name())
	lw := &lineLogger{write: func(line string) {
		s.cfg.Logs.WriteRelease(rel.App, logs.SourceApp, spec.Name(), rel.Version, line)
	}}
	w := &lockedWriter{w: io.MultiWriter(out, lw)}
	code, err := s.cfg.Runtime.Run(ctx, spec, runtime.Stdio{Stdin: strings.NewReader(""), Stdout: w, Stderr: w})
	lw.flush()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return paas.Errorf("postdeploy timed out after %s", s.cfg.ReleaseTimeout)
	case err != nil && ctx.Err() != nil:
		return paas.Errorf("postdeploy canceled")
	case err != nil:
		return &paas.Error{Msg: "postdeploy could not be started", Err: err}
	case code != 0:
		return paas.Errorf("postdeploy failed: %q exited with status %d%s", cmd, code, exitHint(code))
	}
	return nil
}
