package gateway

import (
	"fmt"

	"paas/shellwords"
)

// runDetached serves `run APP --detach CMD`: the one-off starts in the
// background, its output going to the app's log as run.N, and the
// command returns once it is up, as `heroku run:detached` does.
func runDetached(s *Server, r *request, app string, argv []string) int {
	name, err := s.cfg.Platform.RunDetached(r.ctx, app, r.by, argv)
	if err != nil {
		return s.fail(r.stderr, err)
	}
	// Over a terminal (the client asks for one for run), lines end as
	// a terminal in raw mode needs them to.
	nl := "\n"
	if r.tty != nil {
		nl = "\r\n"
	}
	fmt.Fprintf(r.stdout, "Running %s on %s... up, %s%s", printable(shellwords.Join(argv)), app, name, nl)
	fmt.Fprintf(r.stdout, "Its output is in the logs: logs %s --ps %s%s", app, name, nl)
	return 0
}
