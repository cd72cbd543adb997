package gateway

import (
	"fmt"

	"paas"
)

// cmdBuilder serves `builder APP`: how the app's builds are made.
func cmdBuilder(s *Server, r *request, name string, args []string) error {
	if len(args) != 0 {
		return usageError(lookupCommand("builder"))
	}
	app, err := s.cfg.Platform.App(r.ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintln(r.stdout, builderName(app))
	return nil
}

// cmdBuilderSet serves `builder:set APP dockerfile|buildpacks|auto`, and
// Dokku's `builder:set APP selected VALUE`.
func cmdBuilderSet(s *Server, r *request, name string, args []string) error {
	if len(args) == 2 && args[0] == "selected" {
		args = args[1:]
	}
	if len(args) != 1 {
		return usageError(lookupCommand("builder:set"))
	}
	v, err := paas.ParseBuilder(args[0])
	if err != nil {
		return err
	}
	if err := s.cfg.Platform.SetBuilder(r.ctx, name, v); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Builder of %s set to %s: it applies from the next push\n", name, v)
	return nil
}

// builderName is how app is built, as builder:set takes it.
func builderName(app paas.App) string {
	if app.Builder == "" {
		return paas.BuilderAuto
	}
	return app.Builder
}
