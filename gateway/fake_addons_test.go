package gateway

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"paas"
	"paas/runtime"
)

// The fake keeps add-ons with the platform's rules: engines postgres and
// redis, default names APP-ENGINE then -2..., a variable refused when the
// app has it, destroy refused while attached. Attaching and detaching
// change the app's config in a new release.

// fakeAddons holds each fake platform's add-ons by name: the map itself is
// guarded by fakeAddonsMu, each platform's entry by the platform's mu.
var (
	fakeAddonsMu sync.Mutex
	fakeAddons   = map[*fakePlatform]map[string]*paas.Addon{}
	// fakeNoAddons marks platforms that answer like a server without
	// add-ons.
	fakeNoAddons = map[*fakePlatform]bool{}
)

// addons returns f's add-ons by name, or the error of a server without
// them. Callers hold f.mu.
func (f *fakePlatform) addons() (map[string]*paas.Addon, error) {
	fakeAddonsMu.Lock()
	defer fakeAddonsMu.Unlock()
	if fakeNoAddons[f] {
		return nil, &paas.Error{Msg: "this server runs no backing services", Err: paas.ErrAddonsUnavailable}
	}
	m := fakeAddons[f]
	if m == nil {
		m = map[string]*paas.Addon{}
		fakeAddons[f] = m
	}
	return m, nil
}

func fakeVar(engine, as string) string {
	switch {
	case as != "" && strings.HasSuffix(as, "_URL"):
		return as
	case as != "":
		return as + "_URL"
	case engine == "redis":
		return "REDIS_URL"
	}
	return "DATABASE_URL"
}

func (f *fakePlatform) Addons(ctx context.Context, app string) ([]paas.Addon, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := f.addons()
	if err != nil {
		return nil, err
	}
	if _, ok := f.apps[app]; app != "" && !ok {
		return nil, notFound(app)
	}
	var out []paas.Addon
	for _, a := range all {
		if _, ok := a.Attachments[app]; app == "" || ok {
			c := *a
			c.Attachments = maps.Clone(a.Attachments)
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakePlatform) AddonInfo(ctx context.Context, name string) (paas.Addon, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := f.addons()
	if err != nil {
		return paas.Addon{}, err
	}
	a, ok := all[name]
	if !ok {
		return paas.Addon{}, paas.Errorf("add-on %s not found", name)
	}
	c := *a
	c.Attachments = maps.Clone(a.Attachments)
	c.URL = "postgres://app:***@" + name + ":5432/app"
	return c, nil
}

func (f *fakePlatform) CreateAddon(ctx context.Context, app, engine, name, as, by string, out io.Writer) (paas.Addon, paas.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := f.addons()
	if err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	if engine != "postgres" && engine != "redis" {
		return paas.Addon{}, paas.Release{}, paas.Errorf("unknown engine %q: use postgres or redis", engine)
	}
	a, ok := f.apps[app]
	if !ok {
		return paas.Addon{}, paas.Release{}, notFound(app)
	}
	key := fakeVar(engine, as)
	if _, set := f.config[app][key]; set {
		return paas.Addon{}, paas.Release{}, paas.Errorf("%s already has %s set: choose another name with --as", app, key)
	}
	if name == "" {
		for n := 1; ; n++ {
			name = app + "-" + engine
			if n > 1 {
				name += fmt.Sprint("-", n)
			}
			if all[name] == nil {
				break
			}
		}
	} else if all[name] != nil {
		return paas.Addon{}, paas.Release{}, paas.Errorf("an add-on named %s already exists", name)
	}
	version := map[string]string{"postgres": "15.10", "redis": "7.0.15"}[engine]
	fmt.Fprintf(out, "-----> Creating %s (%s) for %s\n", name, engine, app)
	ad := &paas.Addon{Name: name, Engine: engine, Version: version, State: "up", DiskBytes: 40 << 20,
		CreatedBy: by, CreatedAt: time.Date(2026, 11, 26, 10, 1, 0, 0, time.UTC), Attachments: map[string]string{app: key}}
	all[name] = ad
	f.config[app][key] = "postgres://app:s3cretpw@" + name + ":5432/app"
	rel := f.newReleaseLocked(a, "Set "+key+" config vars", by)
	c := *ad
	c.Attachments = maps.Clone(ad.Attachments)
	return c, rel, nil
}

func (f *fakePlatform) AttachAddon(ctx context.Context, name, app, as, by string, out io.Writer) (paas.Addon, paas.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := f.addons()
	if err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	a, ok := f.apps[app]
	if !ok {
		return paas.Addon{}, paas.Release{}, notFound(app)
	}
	ad, ok := all[name]
	if !ok {
		return paas.Addon{}, paas.Release{}, paas.Errorf("add-on %s not found", name)
	}
	if v, ok := ad.Attachments[app]; ok {
		return paas.Addon{}, paas.Release{}, paas.Errorf("%s is already attached to %s as %s", name, app, v)
	}
	key := fakeVar(ad.Engine, as)
	if _, set := f.config[app][key]; set {
		return paas.Addon{}, paas.Release{}, paas.Errorf("%s already has %s set: choose another name with --as", app, key)
	}
	ad.Attachments[app] = key
	f.config[app][key] = "postgres://app:s3cretpw@" + name + ":5432/app"
	var rel paas.Release
	if a.Release > 0 {
		rel = f.newReleaseLocked(a, "Set "+key+" config vars", by)
	}
	c := *ad
	c.Attachments = maps.Clone(ad.Attachments)
	return c, rel, nil
}

func (f *fakePlatform) DetachAddon(ctx context.Context, name, app, by string, out io.Writer) (string, paas.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := f.addons()
	if err != nil {
		return "", paas.Release{}, err
	}
	a, ok := f.apps[app]
	if !ok {
		return "", paas.Release{}, notFound(app)
	}
	ad, ok := all[name]
	if !ok {
		return "", paas.Release{}, paas.Errorf("add-on %s not found", name)
	}
	key, ok := ad.Attachments[app]
	if !ok {
		return "", paas.Release{}, paas.Errorf("%s is not attached to %s", name, app)
	}
	delete(ad.Attachments, app)
	delete(f.config[app], key)
	if a.Release == 0 {
		return key, paas.Release{}, nil
	}
	return key, f.newReleaseLocked(a, "Unset "+key+" config vars", by), nil
}

func (f *fakePlatform) DestroyAddon(ctx context.Context, name string, detach bool, by string, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := f.addons()
	if err != nil {
		return err
	}
	ad, ok := all[name]
	if !ok {
		return paas.Errorf("add-on %s not found", name)
	}
	if len(ad.Attachments) > 0 && !detach {
		var parts []string
		for _, app := range slices.Sorted(maps.Keys(ad.Attachments)) {
			parts = append(parts, app+" ("+ad.Attachments[app]+")")
		}
		return paas.Errorf("%s is attached to %s: detach it first, or run again with --detach", name, strings.Join(parts, ", "))
	}
	for app, key := range ad.Attachments {
		delete(f.config[app], key)
		if f.apps[app].Release > 0 {
			f.newReleaseLocked(f.apps[app], "Unset "+key+" config vars", by)
		}
	}
	delete(all, name)
	return nil
}

// detachAppAddons is the fake's part of DestroyApp: the app leaves its
// add-ons, which remain. Callers hold f.mu.
func (f *fakePlatform) detachAppAddons(app string) {
	fakeAddonsMu.Lock()
	defer fakeAddonsMu.Unlock()
	for _, a := range fakeAddons[f] {
		delete(a.Attachments, app)
	}
}

// noAddons makes f answer like a server without add-ons.
func (f *fakePlatform) noAddons() {
	fakeAddonsMu.Lock()
	defer fakeAddonsMu.Unlock()
	fakeNoAddons[f] = true
}

// fakeDumps holds each fake add-on's data, by platform and name; a dump
// is "DUMP ENGINE\n" and the data. Guarded by fakeAddonsMu.
var fakeDumps = map[*fakePlatform]map[string]string{}

// addon returns f's add-on name. Callers hold f.mu.
func (f *fakePlatform) addon(name string) (*paas.Addon, error) {
	all, err := f.addons()
	if err != nil {
		return nil, err
	}
	a, ok := all[name]
	if !ok {
		return nil, paas.Errorf("add-on %s not found", name)
	}
	return a, nil
}

func (f *fakePlatform) dump(a *paas.Addon) string {
	fakeAddonsMu.Lock()
	defer fakeAddonsMu.Unlock()
	return "DUMP " + a.Engine + "\n" + fakeDumps[f][a.Name]
}

// ConnectAddon understands "\q" (exit 0) and "fail" (exit 3) on stdin,
// and reports the TTY settings.
func (f *fakePlatform) ConnectAddon(ctx context.Context, name, by string, stdio runtime.Stdio) (int, error) {
	f.mu.Lock()
	_, err := f.addon(name)
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(stdio.Stdout, "connected to %s: tty=%v term=%s cols=%d\n", name, stdio.TTY, stdio.Term, stdio.Window.Cols)
	in, _ := io.ReadAll(stdio.Stdin)
	if strings.Contains(string(in), "fail") {
		fmt.Fprintln(stdio.Stderr, "ERROR: syntax error")
		return 3, nil
	}
	return 0, nil
}

func (f *fakePlatform) BackupAddon(ctx context.Context, name, from string, w io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.addon(name)
	if err != nil {
		return err
	}
	if from != "" {
		if _, _, err := paas.ParseBackupID(from); err != nil {
			return err
		}
		if !slices.ContainsFunc(a.Backups, func(b paas.AddonBackup) bool { return b.ID == from }) {
			return paas.Errorf("%s has no backup %s; addons:backups %s lists them", name, from, name)
		}
		_, err := io.WriteString(w, "stored "+from)
		return err
	}
	_, err = io.WriteString(w, f.dump(a))
	return err
}

func (f *fakePlatform) RestoreAddon(ctx context.Context, name, by string, r io.Reader) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.addon(name)
	if err != nil {
		return err
	}
	in, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	head, data, _ := strings.Cut(string(in), "\n")
	if head != "DUMP "+a.Engine {
		return paas.Errorf("not a %s dump: make one with addons:backup or pg_dump -Fc", a.Engine)
	}
	fakeAddonsMu.Lock()
	if fakeDumps[f] == nil {
		fakeDumps[f] = map[string]string{}
	}
	fakeDumps[f][name] = data
	fakeAddonsMu.Unlock()
	return nil
}

func (f *fakePlatform) RotateAddon(ctx context.Context, name, by string, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.addon(name)
	if err != nil {
		return err
	}
	for _, app := range slices.Sorted(maps.Keys(a.Attachments)) {
		f.config[app][a.Attachments[app]] = "postgres://app_2:n3wpw@" + name + ":5432/app"
		if f.apps[app].Release > 0 {
			f.newReleaseLocked(f.apps[app], "Set "+a.Attachments[app]+" config vars", by)
		}
	}
	fmt.Fprintf(out, "Rotated %s\n", name)
	return nil
}

func (f *fakePlatform) AddonBackups(ctx context.Context, name string) ([]paas.AddonBackup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.addon(name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(a.Backups), nil
}

// CaptureAddonBackup stores backups a day apart from 2026-12-06 05:12.
func (f *fakePlatform) CaptureAddonBackup(ctx context.Context, name, by string) (paas.AddonBackup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.addon(name)
	if err != nil {
		return paas.AddonBackup{}, err
	}
	t := time.Date(2026, 12, 6+len(a.Backups), 5, 12, 0, 0, time.UTC)
	b := paas.AddonBackup{ID: t.Format(paas.BackupIDLayout), Time: t, Size: 1536 << uint(len(a.Backups))}
	a.Backups = append(a.Backups, b)
	return b, nil
}
