package deploy

import (
	"context"
	"fmt"
	"io"

	"paas"
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
	err := s.runPhase(ctx, rel, "postdeploy", "postdeploy", cmd, out)
	if err != nil {
		reason := reasonOf(err)
		fmt.Fprintf(out, " !     %s; %s stays live and postdeploy is not run again\n", reason, rel.Name())
		s.eventRel(rel.App, rel.Version, "Postdeploy of %s failed: %s", rel.Name(), reason)
		return
	}
	s.eventRel(rel.App, rel.Version, "Postdeploy of %s succeeded", rel.Name())
}
