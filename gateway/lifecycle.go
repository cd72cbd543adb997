package gateway

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"paas"
	"paas/shellwords"
)

// parseVersion reads "v7" or "7".
func parseVersion(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	if err != nil || n <= 0 || strings.TrimPrefix(s, "v") != strconv.Itoa(n) {
		return 0, paas.Errorf("invalid release %q: expected vN", s)
	}
	return n, nil
}

func cmdRollback(s *Server, r *request, app string, args []string) error {
	flags, args, err := parseFlags(args, map[string]bool{"--force": false})
	if err != nil {
		return err
	}
	if len(args) > 1 {
		return usageError(lookupCommand("rollback"))
	}
	v := 0
	if len(args) == 1 {
		if v, err = parseVersion(args[0]); err != nil {
			return err
		}
	}
	_, force := flags["--force"]
	rel, err := s.cfg.Platform.Rollback(r.ctx, app, r.by, v, force, r.stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Rolled back %s: %s (%s)\n", app, rel.Name(), printable(rel.Description))
	return nil
}

func cmdReleasesInfo(s *Server, r *request, app string, args []string) error {
	flags, rest, asJSON, err := listFlags(args, map[string]bool{"--values": false})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(lookupCommand("releases:info"))
	}
	v, err := parseVersion(rest[0])
	if err != nil {
		return err
	}
	a, err := s.cfg.Platform.App(r.ctx, app)
	if err != nil {
		return err
	}
	rels, err := s.cfg.Platform.Releases(r.ctx, app)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(rels, func(rel paas.Release) bool { return rel.Version == v })
	if i < 0 {
		return paas.Errorf("%s has no release v%d", app, v)
	}
	rel := rels[i]
	_, values := flags["--values"]
	if asJSON {
		return writeJSON(r, toReleaseInfoJSON(rel, a.Release, values))
	}
	w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "release:\t%s\n", rel.Name())
	fmt.Fprintf(w, "status:\t%s\n", releaseStatus(rel, a.Release))
	if rel.Failure != "" {
		fmt.Fprintf(w, "failure:\t%s\n", printable(rel.Failure))
	}
	fmt.Fprintf(w, "description:\t%s\n", orDash(printable(rel.Description)))
	fmt.Fprintf(w, "by:\t%s\n", orDash(rel.CreatedBy))
	fmt.Fprintf(w, "when:\t%s\n", formatTime(rel.CreatedAt))
	build := fmt.Sprintf("%d", rel.Build)
	if rel.Pruned {
		build += " (pruned)"
	}
	fmt.Fprintf(w, "build:\t%s\n", build)
	fmt.Fprintf(w, "commit:\t%s\n", orDash(rel.Commit))
	fmt.Fprintf(w, "artifact:\t%s\n", artifact(rel))
	fmt.Fprintf(w, "buildpacks:\t%s\n", orDash(printable(strings.Join(rel.Buildpacks, ", "))))
	fmt.Fprintf(w, "process types:\t%s\n", orDash(strings.Join(slices.Sorted(maps.Keys(rel.ProcessTypes)), ", ")))
	if err := w.Flush(); err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(rel.Config))
	if len(keys) == 0 {
		fmt.Fprintln(r.stdout, "config: (none)")
		return nil
	}
	fmt.Fprintln(r.stdout, "config:")
	for _, k := range keys {
		if values {
			fmt.Fprintf(r.stdout, "  %s=%s\n", k, shellwords.Display(rel.Config[k]))
		} else {
			fmt.Fprintf(r.stdout, "  %s\n", k)
		}
	}
	return nil
}

// releaseStatus is the status a release list shows.
func releaseStatus(rel paas.Release, current int) string {
	switch {
	case rel.Version == current:
		return "current"
	case rel.Status == "":
		return paas.StatusSucceeded
	}
	return rel.Status
}

func cmdPsRestart(s *Server, r *request, app string, args []string) error {
	if len(args) > 1 {
		return usageError(lookupCommand("ps:restart"))
	}
	target := ""
	if len(args) == 1 {
		target = args[0]
		typ, idx, hasIdx := strings.Cut(target, ".")
		if err := paas.ValidateProcessType(typ); err != nil {
			return err
		}
		if n, err := strconv.Atoi(idx); hasIdx && (err != nil || n < 1 || idx != strconv.Itoa(n)) {
			return paas.Errorf("invalid instance %q: expected TYPE or TYPE.N", target)
		}
	}
	if err := s.cfg.Platform.Restart(r.ctx, app, target, r.stdout); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Restarted %s\n", strings.TrimSpace(app+" "+target))
	return nil
}

func cmdPsStopStart(stopped bool) func(s *Server, r *request, app string, args []string) error {
	return func(s *Server, r *request, app string, args []string) error {
		name := "ps:start"
		if stopped {
			name = "ps:stop"
		}
		if len(args) != 1 {
			return usageError(lookupCommand(name))
		}
		if err := paas.ValidateProcessType(args[0]); err != nil {
			return err
		}
		if err := s.cfg.Platform.SetStopped(r.ctx, app, args[0], stopped, r.stdout); err != nil {
			return err
		}
		verb := "Started"
		if stopped {
			verb = "Stopped"
		}
		fmt.Fprintf(r.stdout, "%s %s %s\n", verb, app, args[0])
		return nil
	}
}

func cmdMaintenance(on bool) func(s *Server, r *request, app string, args []string) error {
	return func(s *Server, r *request, app string, args []string) error {
		if len(args) != 0 {
			if on {
				return usageError(lookupCommand("maintenance:on"))
			}
			return usageError(lookupCommand("maintenance:off"))
		}
		if err := s.cfg.Platform.SetMaintenance(r.ctx, app, on); err != nil {
			return err
		}
		state := "off"
		if on {
			state = "on"
		}
		fmt.Fprintf(r.stdout, "Maintenance mode %s for %s\n", state, app)
		return nil
	}
}

// setStopTimeout serves `ps:set APP stop-timeout=N` (seconds).
func setStopTimeout(s *Server, r *request, app, value string) error {
	n, err := strconv.Atoi(value)
	if err != nil || n < 0 || n > 3600 || value != strconv.Itoa(n) {
		return paas.Errorf("invalid stop-timeout %q: use whole seconds from 0 to 3600 (0 for the default)", value)
	}
	if err := s.cfg.Platform.SetStopTimeout(r.ctx, app, time.Duration(n)*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Set %s stop-timeout to %ds\n", app, n)
	return nil
}

// artifact names a release's build output without saying where on the
// server it lies: an image reference as is, a slug directory as "slug".
func artifact(rel paas.Release) string {
	switch {
	case rel.Slug == "":
		return "-"
	case filepath.IsAbs(rel.Slug):
		return fmt.Sprintf("slug of build %d", rel.Build)
	default:
		return "image " + rel.Slug
	}
}
