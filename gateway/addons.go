package gateway

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"paas"
	"paas/access"
)

// Add-on commands. Those about one add-on take its NAME first; only
// addons:create takes the app first, like every app command.

func cmdAddons(s *Server, r *request, _ string, args []string) error {
	_, args, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(args) > 1 || len(args) == 1 && strings.HasPrefix(args[0], "-") {
		return usageError(lookupCommand("addons"))
	}
	app := ""
	if len(args) == 1 {
		app = args[0]
		if err := paas.ValidateAppName(app); err != nil {
			return err
		}
		if err := s.allow(r.user, access.Read, appObj(app)); err != nil {
			return err
		}
	}
	list, err := s.cfg.Platform.Addons(r.ctx, app)
	if err != nil {
		return err
	}
	if list, err = s.visibleAddons(r.user, list); err != nil {
		return err
	}
	if len(list) == 0 {
		if app != "" {
			return emptyListing(r, asJSON, fmt.Sprintf("%s has no add-ons; create one with addons:create %s postgres", app, app))
		}
		return emptyListing(r, asJSON, "no add-ons; create one with addons:create APP postgres")
	}
	slices.SortFunc(list, func(a, b paas.Addon) int { return strings.Compare(a.Name, b.Name) })
	if asJSON {
		out := make([]addonJSON, 0, len(list))
		for _, a := range list {
			out = append(out, toAddonJSON(a))
		}
		return writeJSON(r, out)
	}
	t := newTable("NAME", "ENGINE", "STATE", "ATTACHED AS", "DISK")
	for _, a := range list {
		t.row(a.Name, printable(engineVersion(a)), printable(orDash(a.State)), attachedAs(a, ":", " "), formatBytes(a.DiskBytes))
	}
	return t.write(r.stdout)
}

func cmdAddonsCreate(s *Server, r *request, app string, args []string) error {
	c := lookupCommand("addons:create")
	fl, rest, err := parseFlags(args, map[string]bool{"--name": true, "--as": true})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(c)
	}
	name, as := fl["--name"], fl["--as"]
	if _, given := fl["--name"]; given {
		if err := validateAddonName(name); err != nil {
			return err
		}
	}
	if _, given := fl["--as"]; given && paas.ValidateConfigKey(as) != nil {
		return paas.Errorf("invalid --as %q: use letters, digits and underscores, not starting with a digit", as)
	}
	start := s.now()
	a, rel, err := s.cfg.Platform.CreateAddon(r.ctx, app, rest[0], name, as, r.by, r.stdout)
	if err != nil {
		return err
	}
	took := s.now().Sub(start).Round(100 * time.Millisecond)
	fmt.Fprintf(r.stdout, "Created %s (%s) in %s: %s set on %s%s\n", a.Name, engineVersion(a), took, a.Attachments[app], app, releaseNote(rel))
	return nil
}

func cmdAddonsInfo(s *Server, r *request, _ string, args []string) error {
	_, args, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return usageError(lookupCommand("addons:info"))
	}
	if err := validateAddonName(args[0]); err != nil {
		return err
	}
	a, err := s.cfg.Platform.AddonInfo(r.ctx, args[0])
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(r, toAddonInfoJSON(a))
	}
	w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name:\t%s\n", a.Name)
	fmt.Fprintf(w, "engine:\t%s\n", engineVersion(a))
	fmt.Fprintf(w, "state:\t%s\n", orDash(a.State))
	fmt.Fprintf(w, "url:\t%s\n", orDash(a.URL))
	attached := attachedAs(a, " as ", ", ")
	if len(a.Attachments) == 0 {
		attached = "none"
	}
	fmt.Fprintf(w, "attached:\t%s\n", attached)
	fmt.Fprintf(w, "disk:\t%s\n", formatBytes(a.DiskBytes))
	fmt.Fprintf(w, "created:\t%s by %s\n", formatTime(a.CreatedAt), orDash(a.CreatedBy))
	if a.Rotation != "" {
		fmt.Fprintf(w, "rotation:\t%s\n", a.Rotation)
	}
	if len(a.Backups) == 0 {
		fmt.Fprintf(w, "backups:\tnone\n")
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(a.Backups) > 0 {
		fmt.Fprintln(r.stdout, "backups:")
		w = tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
		writeBackups(w, a.Backups, "  ")
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if len(a.Logs) > 0 {
		fmt.Fprintln(r.stdout, "log:")
		for _, l := range a.Logs {
			fmt.Fprintf(r.stdout, "  %s\n", printable(strings.ReplaceAll(strings.TrimRight(l, "\r\n"), "\n", " ")))
		}
	}
	return nil
}

// nameAndApp reads the NAME APP operands of addons:attach and
// addons:detach.
func nameAndApp(c *command, rest []string) (name, app string, err error) {
	if len(rest) != 2 {
		return "", "", usageError(c)
	}
	if err := validateAddonName(rest[0]); err != nil {
		return "", "", err
	}
	if err := paas.ValidateAppName(rest[1]); err != nil {
		return "", "", err
	}
	return rest[0], rest[1], nil
}

func cmdAddonsAttach(s *Server, r *request, _ string, args []string) error {
	c := lookupCommand("addons:attach")
	fl, rest, err := parseFlags(args, map[string]bool{"--as": true})
	if err != nil {
		return err
	}
	name, app, err := nameAndApp(c, rest)
	if err != nil {
		return err
	}
	if err := s.allow(r.user, access.Change, appObj(app)); err != nil {
		return err
	}
	as := fl["--as"]
	if _, given := fl["--as"]; given && paas.ValidateConfigKey(as) != nil {
		return paas.Errorf("invalid --as %q: use letters, digits and underscores, not starting with a digit", as)
	}
	a, rel, err := s.cfg.Platform.AttachAddon(r.ctx, name, app, as, r.by, r.stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Attached %s to %s as %s%s\n", a.Name, app, a.Attachments[app], releaseNote(rel))
	return nil
}

func cmdAddonsDetach(s *Server, r *request, _ string, args []string) error {
	c := lookupCommand("addons:detach")
	_, rest, err := parseFlags(args, map[string]bool{})
	if err != nil {
		return err
	}
	name, app, err := nameAndApp(c, rest)
	if err != nil {
		return err
	}
	if err := s.allow(r.user, access.Change, appObj(app)); err != nil {
		return err
	}
	key, rel, err := s.cfg.Platform.DetachAddon(r.ctx, name, app, r.by, r.stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Detached %s from %s: %s unset%s\n", name, app, key, releaseNote(rel))
	return nil
}

func cmdAddonsDestroy(s *Server, r *request, _ string, args []string) error {
	c := lookupCommand("addons:destroy")
	fl, rest, err := parseFlags(args, map[string]bool{"--confirm": true, "--detach": false})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(c)
	}
	name := rest[0]
	if err := validateAddonName(name); err != nil {
		return err
	}
	confirm, ok := fl["--confirm"]
	if !ok {
		return paas.Errorf("destroying %s deletes its data and cannot be undone; run again with --confirm %s", name, name)
	}
	if confirm != name {
		return paas.Errorf("--confirm %s does not match the add-on name %s", confirm, name)
	}
	_, detach := fl["--detach"]
	if err := s.cfg.Platform.DestroyAddon(r.ctx, name, detach, r.by, r.stdout); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Destroyed %s\n", name)
	return nil
}

// addonsOf lists the names of the add-ons attached to app; none where the
// server runs no add-ons.
func addonsOf(s *Server, r *request, app string) ([]string, error) {
	list, err := s.cfg.Platform.Addons(r.ctx, app)
	if errors.Is(err, paas.ErrAddonsUnavailable) {
		return nil, nil
	}
	var names []string
	for _, a := range list {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names, err
}

// validateAddonName applies the app-name rule to an add-on name.
func validateAddonName(name string) error {
	if paas.ValidateAppName(name) != nil {
		return paas.Errorf("invalid add-on name %q: use a lower-case letter followed by up to 29 lower-case letters, digits or dashes", name)
	}
	return nil
}

// engineVersion renders "postgres 15.10".
func engineVersion(a paas.Addon) string {
	return strings.TrimSpace(a.Engine + " " + a.Version)
}

// attachedAs renders the attachments sorted by app: "shop:DATABASE_URL
// blog:MAIN_URL" with sep ":" and join " "; "-" when there are none.
func attachedAs(a paas.Addon, sep, join string) string {
	var parts []string
	for _, app := range slices.Sorted(maps.Keys(a.Attachments)) {
		parts = append(parts, app+sep+a.Attachments[app])
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, join)
}

// releaseNote says which release a config change made.
func releaseNote(rel paas.Release) string {
	if rel.Version == 0 {
		return " (the app has no release yet: it takes effect at the first deploy)"
	}
	return fmt.Sprintf(": release v%d", rel.Version)
}

// formatBytes renders a size as "512 B", "4.0 KiB", "1.5 GiB"; "-" when
// unknown (negative).
func formatBytes(n int64) string {
	if n < 0 {
		return "-"
	}
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	unit := ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		unit = u
		if v < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
