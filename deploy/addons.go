package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"paas"
	"paas/runtime"
	"paas/store"
)

// AddonStatus is what a Provisioner says of one service.
type AddonStatus struct {
	Version   string
	State     string // "starting", "up", "crashed", "stopped", "missing"
	DiskBytes int64  // -1 when unknown
}

// AddonService is where a new service is reached and who logs in first.
type AddonService struct {
	Version string // the engine's version, e.g. "15.10"
	Host    string // the host attached apps reach it at
	Port    int
	User    string // the first user: "app" (postgres), "default" (redis)
}

// Provisioner runs backing services: one per add-on, reachable from the
// apps it is attached to.
type Provisioner interface {
	// Create starts a new service of engine with password and waits
	// until it answers. On failure it leaves nothing behind.
	Create(ctx context.Context, name, engine, password string, out io.Writer) (AddonService, error)
	// Attach makes the service reachable from app's instances at the
	// host name (idempotent).
	Attach(ctx context.Context, name, app string) error
	// Detach makes it unreachable from app's instances (idempotent).
	Detach(ctx context.Context, name, app string) error
	// Destroy stops the service and removes it with its data
	// (idempotent).
	Destroy(ctx context.Context, name string) error
	// Status reports one service.
	Status(ctx context.Context, name string) (AddonStatus, error)
	// Names lists the services this paasd runs, whatever their state.
	Names(ctx context.Context) ([]string, error)
	// Connect runs the engine's client logged in as user/password,
	// attached to stdio (a TTY when stdio.TTY), and returns its exit
	// status.
	Connect(ctx context.Context, name, user, password string, stdio runtime.Stdio) (int, error)
	// Backup writes a dump of the service's data to w; on error w got
	// no complete dump.
	Backup(ctx context.Context, name string, w io.Writer) error
	// Restore replaces the service's data with the dump read from r. A
	// dump it refuses, or a restore that fails midway, leaves the
	// previous data.
	Restore(ctx context.Context, name string, r io.Reader) error
	// AddCredential lets user/password log in besides the credentials
	// that already can.
	AddCredential(ctx context.Context, name, user, password string) error
	// RemoveCredential stops user/password logging in and closes its
	// sessions.
	RemoveCredential(ctx context.Context, name, user, password string) error
	// Logs returns the service's last n output lines, oldest first.
	Logs(ctx context.Context, name string, n int) ([]string, error)
}

// errNoAddons is what every add-on operation answers without a
// Provisioner.
var errNoAddons = &paas.Error{Msg: "this server runs no backing services", Err: paas.ErrAddonsUnavailable}

// maskMark replaces an add-on's password in what is shown or logged.
const maskMark = "***"

// addonsOn fails when the server runs no backing services.
func (s *Service) addonsOn() error {
	if s.cfg.Addons == nil {
		return errNoAddons
	}
	return nil
}

// addonError turns store sentinels into messages for the user.
func addonError(name, app string, err error) error {
	if errors.Is(err, store.ErrAddonNotFound) {
		return &paas.Error{Msg: fmt.Sprintf("add-on %s not found", name), Err: err}
	}
	return userError(app, err)
}

// validateAddonName applies the app-name rule to an add-on name.
func validateAddonName(name string) error {
	if paas.ValidateAppName(name) != nil {
		return paas.Errorf("invalid add-on name %q: use a lower-case letter followed by up to 29 lower-case letters, digits or dashes", name)
	}
	return nil
}

// addonVar is the config var an add-on of engine is attached as: the
// engine's default, or AS_URL for --as AS.
func (s *Service) addonVar(engine, as string) (string, error) {
	if as == "" {
		return s.cfg.AddonVar(engine), nil
	}
	key := as
	if !strings.HasSuffix(key, "_URL") {
		key += "_URL"
	}
	if paas.ValidateConfigKey(key) != nil {
		return "", paas.Errorf("invalid --as %q: use letters, digits and underscores, not starting with a digit", as)
	}
	return key, nil
}

// maskedError hides a password in an error's text; the cause stays
// reachable with errors.Is and errors.As.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// mask returns err with password replaced in its text.
func mask(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &maskedError{msg: strings.ReplaceAll(err.Error(), password, maskMark), err: err}
}

// maskAll returns err with each of passwords replaced in its text.
func maskAll(err error, passwords []string) error {
	for _, p := range passwords {
		err = mask(err, p)
	}
	return err
}

// addonLock takes the lock of add-on name: one create, attach, detach or
// destroy of it at a time.
func (s *Service) addonLock(ctx context.Context, name string) (unlock func(), err error) {
	for {
		s.mu.Lock()
		if s.addonBusy == nil {
			s.addonBusy = map[string]chan struct{}{}
		}
		busy, held := s.addonBusy[name]
		if !held {
			done := make(chan struct{})
			s.addonBusy[name] = done
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.addonBusy, name)
				s.mu.Unlock()
				close(done)
			}, nil
		}
		s.mu.Unlock()
		if paas.NoWait(ctx) {
			return nil, paas.Errorf("another change of add-on %s is in progress", name)
		}
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tryAddonLock takes the lock of add-on name when it is free.
func (s *Service) tryAddonLock(name string) (unlock func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, held := s.addonBusy[name]; held {
		return nil, false
	}
	if s.addonBusy == nil {
		s.addonBusy = map[string]chan struct{}{}
	}
	done := make(chan struct{})
	s.addonBusy[name] = done
	return func() {
		s.mu.Lock()
		delete(s.addonBusy, name)
		s.mu.Unlock()
		close(done)
	}, true
}

// defaultAddonName picks and locks the first free name of APP-ENGINE,
// APP-ENGINE-2, ...: free in the store and not being created.
func (s *Service) defaultAddonName(app, engine string) (string, func(), error) {
	for n := 1; ; n++ {
		suffix := "-" + engine
		if n > 1 {
			suffix += fmt.Sprintf("-%d", n)
		}
		base := app
		if len(base)+len(suffix) > 30 {
			base = base[:30-len(suffix)]
		}
		name := base + suffix
		if _, err := s.cfg.Store.Addon(name); err == nil {
			continue
		} else if !errors.Is(err, store.ErrAddonNotFound) {
			return "", nil, err
		}
		unlock, ok := s.tryAddonLock(name)
		if !ok {
			continue
		}
		if _, err := s.cfg.Store.Addon(name); err == nil {
			unlock()
			continue
		}
		return name, unlock, nil
	}
}

// view is what users see of a stored add-on, with the engine's word on
// its state.
func (s *Service) view(ctx context.Context, a store.Addon) paas.Addon {
	v := paas.Addon{
		Name: a.Name, Engine: a.Engine, Version: a.Version,
		Attachments: maps.Clone(a.Attachments),
		CreatedBy:   a.CreatedBy, CreatedAt: a.CreatedAt,
		State: "unknown", DiskBytes: -1,
	}
	st, err := s.cfg.Addons.Status(ctx, a.Name)
	if err != nil {
		s.log.Error("asking for an add-on's status", "addon", a.Name, "err", mask(err, a.Password))
		return v
	}
	v.State, v.DiskBytes = st.State, st.DiskBytes
	if st.Version != "" {
		v.Version = st.Version
	}
	return v
}

// Addons lists the add-ons attached to app, or every add-on when app is "".
func (s *Service) Addons(ctx context.Context, app string) ([]paas.Addon, error) {
	if err := s.addonsOn(); err != nil {
		return nil, err
	}
	if app != "" {
		// A damaged app's add-ons are listed: destroying it says
		// which remain.
		if _, err := s.App(ctx, app); err != nil && !errors.Is(err, paas.ErrAppDamaged) {
			return nil, err
		}
	}
	all, err := s.cfg.Store.Addons()
	if err != nil {
		return nil, err
	}
	var out []paas.Addon
	for _, a := range all {
		if _, ok := a.Attachments[app]; app == "" || ok {
			out = append(out, s.view(ctx, a))
		}
	}
	return out, nil
}

// AddonInfo shows one add-on with its URL, the password masked.
func (s *Service) AddonInfo(ctx context.Context, name string) (paas.Addon, error) {
	if err := s.addonsOn(); err != nil {
		return paas.Addon{}, err
	}
	if err := validateAddonName(name); err != nil {
		return paas.Addon{}, err
	}
	a, err := s.cfg.Store.Addon(name)
	if err != nil {
		return paas.Addon{}, addonError(name, "", err)
	}
	v := s.view(ctx, a)
	v.URL = s.addonURL(a, maskMark)
	v.Backups, err = s.backups(name)
	if err != nil {
		s.log.Error("listing an add-on's backups", "addon", name, "err", err)
	}
	v.Logs = s.addonLogs(ctx, a.Name, a.Passwords(), addonInfoLines)
	v.Rotation = rotationNote(a)
	return v, nil
}

// CreateAddon provisions a service of engine named name (APP-ENGINE, then
// APP-ENGINE-2..., when name is "") and attaches it to app as the engine's
// var (AS_URL with as): a new release, rolled out like a config change.
// Whatever fails, nothing is left: no record, no service.
func (s *Service) CreateAddon(ctx context.Context, app, engine, name, as, by string, out io.Writer) (paas.Addon, paas.Release, error) {
	if out == nil {
		out = io.Discard
	}
	if err := s.addonsOn(); err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	if !slices.Contains(s.cfg.AddonEngines, engine) {
		return paas.Addon{}, paas.Release{}, paas.Errorf("unknown engine %q: use %s", engine, strings.Join(s.cfg.AddonEngines, " or "))
	}
	if name != "" {
		if err := validateAddonName(name); err != nil {
			return paas.Addon{}, paas.Release{}, err
		}
	}
	key, err := s.addonVar(engine, as)
	if err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	if err := s.varFree(ctx, app, key); err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	var unlock func()
	if name == "" {
		name, unlock, err = s.defaultAddonName(app, engine)
	} else {
		unlock, err = s.addonLock(ctx, name)
	}
	if err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	defer unlock()
	if _, err := s.cfg.Store.Addon(name); err == nil {
		return paas.Addon{}, paas.Release{}, paas.Errorf("an add-on named %s already exists", name)
	}

	password := s.cfg.NewPassword()
	fmt.Fprintf(out, "-----> Creating %s (%s) for %s\n", name, engine, app)
	svc, err := s.cfg.Addons.Create(ctx, name, engine, password, out)
	if err != nil {
		return paas.Addon{}, paas.Release{}, mask(err, password)
	}
	version := svc.Version
	a, err := s.cfg.Store.CreateAddon(store.Addon{
		Name: name, Engine: engine, Version: version,
		Host: svc.Host, Port: svc.Port, User: svc.User, Password: password,
		CreatedBy: by,
	})
	if err != nil {
		s.destroyService(ctx, name, password)
		return paas.Addon{}, paas.Release{}, err
	}
	s.change(app, 0, "Add-on %s (%s %s) created by %s", name, engine, version, by)
	rel, err := s.attach(ctx, a, app, key, by, out)
	if err != nil {
		if derr := s.cfg.Store.DeleteAddon(name); derr != nil {
			s.log.Error("forgetting an add-on whose attach failed", "addon", name, "err", derr)
		}
		s.destroyService(ctx, name, password)
		s.event(app, "Add-on %s destroyed: attaching it failed", name)
		return paas.Addon{}, paas.Release{}, err
	}
	a.Attachments = map[string]string{app: key}
	return s.view(ctx, a), rel, nil
}

// addonURL is the URL of a's current credential, with password.
func (s *Service) addonURL(a store.Addon, password string) string {
	return s.cfg.AddonURL(a.Engine, a.User, password, a.Host, a.Port)
}

// destroyService removes a service that is not to be kept, logging a
// failure.
func (s *Service) destroyService(ctx context.Context, name, password string) {
	if err := s.cfg.Addons.Destroy(context.WithoutCancel(ctx), name); err != nil {
		s.log.Error("destroying add-on", "addon", name, "err", mask(err, password))
	}
}

// varFree refuses a config var app already has.
func (s *Service) varFree(ctx context.Context, app, key string) error {
	cfg, err := s.Config(ctx, app)
	if err != nil {
		return err
	}
	if _, ok := cfg[key]; ok {
		return paas.Errorf("%s already has %s set: choose another name with --as", app, key)
	}
	return nil
}

// AttachAddon attaches add-on name to app as the engine's var (AS_URL with
// as): a new release, rolled out like a config change.
func (s *Service) AttachAddon(ctx context.Context, name, app, as, by string, out io.Writer) (paas.Addon, paas.Release, error) {
	if err := s.addonsOn(); err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	if err := validateAddonName(name); err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	if _, err := s.App(ctx, app); err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	unlock, err := s.addonLock(ctx, name)
	if err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	defer unlock()
	a, err := s.cfg.Store.Addon(name)
	if err != nil {
		return paas.Addon{}, paas.Release{}, addonError(name, app, err)
	}
	if v, ok := a.Attachments[app]; ok {
		return paas.Addon{}, paas.Release{}, paas.Errorf("%s is already attached to %s as %s", name, app, v)
	}
	key, err := s.addonVar(a.Engine, as)
	if err != nil {
		return paas.Addon{}, paas.Release{}, err
	}
	rel, err := s.attach(ctx, a, app, key, by, out)
	if err != nil {
		return paas.Addon{}, rel, err
	}
	a.Attachments[app] = key
	return s.view(ctx, a), rel, nil
}

// attach joins add-on a to app's network, then records the attachment and
// sets key to its URL in one store transaction, and rolls the release out.
// When the var is taken or the release fails, the attachment is undone and
// the app keeps its config. The caller holds a's lock.
func (s *Service) attach(ctx context.Context, a store.Addon, app, key, by string, out io.Writer) (paas.Release, error) {
	st, unlock, err := s.begin(ctx, app, out)
	if err != nil {
		return paas.Release{}, err
	}
	defer unlock()
	url := s.addonURL(a, a.Password)
	cfg, err := s.cfg.Store.Config(app)
	if err != nil {
		return paas.Release{}, userError(app, err)
	}
	if v, ok := cfg[key]; ok && v != url {
		return paas.Release{}, paas.Errorf("%s already has %s set: choose another name with --as", app, key)
	}
	if err := s.cfg.Addons.Attach(ctx, a.Name, app); err != nil {
		return paas.Release{}, fmt.Errorf("attaching add-on %s to %s: %w", a.Name, app, mask(err, a.Password))
	}
	undo := func() {
		if err := s.cfg.Addons.Detach(context.WithoutCancel(ctx), a.Name, app); err != nil {
			s.log.Error("detaching add-on", "addon", a.Name, "app", app, "err", mask(err, a.Password))
		}
	}
	// The URL is masked in platform lines from now on.
	done := s.rollingConfig(app, map[string]string{key: url})
	defer done()
	rel, err := s.cfg.Store.AttachAddon(a.Name, app, key, url, by)
	if err != nil {
		undo()
		return paas.Release{}, addonError(a.Name, app, err)
	}
	relVersion := 0
	if rel != nil {
		relVersion = rel.Version
	}
	s.change(app, relVersion, "Add-on %s attached as %s by %s", a.Name, key, by)
	if rel == nil {
		return paas.Release{}, nil
	}
	s.change(app, rel.Version, "Release %s created by %s: %s", rel.Name(), by, rel.Description)
	if err := s.rollout(ctx, st, *rel, out); err != nil {
		if derr := s.cfg.Store.DetachAddon(a.Name, app); derr != nil {
			s.log.Error("forgetting a failed attachment", "addon", a.Name, "app", app, "err", derr)
		}
		undo()
		s.eventRel(app, rel.Version, "Add-on %s detached: %s failed", a.Name, rel.Name())
		return *rel, err
	}
	return *rel, nil
}

// DetachAddon detaches add-on name from app: its var is unset in a new
// release, then the service leaves the app's network. It returns the var.
func (s *Service) DetachAddon(ctx context.Context, name, app, by string, out io.Writer) (string, paas.Release, error) {
	if err := s.addonsOn(); err != nil {
		return "", paas.Release{}, err
	}
	if err := validateAddonName(name); err != nil {
		return "", paas.Release{}, err
	}
	if _, err := s.App(ctx, app); err != nil {
		return "", paas.Release{}, err
	}
	unlock, err := s.addonLock(ctx, name)
	if err != nil {
		return "", paas.Release{}, err
	}
	defer unlock()
	a, err := s.cfg.Store.Addon(name)
	if err != nil {
		return "", paas.Release{}, addonError(name, app, err)
	}
	key, ok := a.Attachments[app]
	if !ok {
		return "", paas.Release{}, paas.Errorf("%s is not attached to %s", name, app)
	}
	rel, err := s.detach(ctx, a, app, by, out)
	return key, rel, err
}

// detach unsets the var of add-on a on app (a new release, rolled out),
// then forgets the attachment and leaves the app's network. The var goes
// first: an interrupted detach leaves the add-on recorded as attached, so
// that it is not destroyed under an app that still reaches it. The caller
// holds a's lock.
func (s *Service) detach(ctx context.Context, a store.Addon, app, by string, out io.Writer) (paas.Release, error) {
	key := a.Attachments[app]
	st, unlock, err := s.begin(ctx, app, out)
	if err != nil {
		return paas.Release{}, err
	}
	defer unlock()
	cfg, err := s.cfg.Store.Config(app)
	if err != nil {
		return paas.Release{}, userError(app, err)
	}
	var rel *paas.Release
	if _, set := cfg[key]; set {
		if rel, err = s.cfg.Store.ChangeConfig(app, nil, []string{key}, by); err != nil {
			return paas.Release{}, userError(app, err)
		}
	}
	relVersion := 0
	if rel != nil {
		relVersion = rel.Version
		s.change(app, rel.Version, "Release %s created by %s: %s", rel.Name(), by, rel.Description)
		if err := s.rollout(ctx, st, *rel, out); err != nil {
			return *rel, err
		}
	}
	if err := s.cfg.Store.DetachAddon(a.Name, app); err != nil {
		return paas.Release{}, addonError(a.Name, app, err)
	}
	if err := s.cfg.Addons.Detach(ctx, a.Name, app); err != nil {
		s.log.Error("detaching add-on", "addon", a.Name, "app", app, "err", mask(err, a.Password))
	}
	s.change(app, relVersion, "Add-on %s detached (%s unset) by %s", a.Name, key, by)
	if rel == nil {
		return paas.Release{}, nil
	}
	return *rel, nil
}

// DestroyAddon removes add-on name: its service, its data and its stored
// backups. It is
// refused while the add-on is attached, unless detach is set: then it is
// detached from each app first (a new release of each).
func (s *Service) DestroyAddon(ctx context.Context, name string, detach bool, by string, out io.Writer) error {
	if err := s.addonsOn(); err != nil {
		return err
	}
	if err := validateAddonName(name); err != nil {
		return err
	}
	unlock, err := s.addonLock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	a, err := s.cfg.Store.Addon(name)
	if err != nil {
		return addonError(name, "", err)
	}
	apps := slices.Sorted(maps.Keys(a.Attachments))
	if len(apps) > 0 && !detach {
		var parts []string
		for _, app := range apps {
			parts = append(parts, app+" ("+a.Attachments[app]+")")
		}
		return paas.Errorf("%s is attached to %s: detach it first, or run again with --detach", name, strings.Join(parts, ", "))
	}
	for _, app := range apps {
		if out != nil {
			fmt.Fprintf(out, "-----> Detaching %s from %s\n", name, app)
		}
		if _, err := s.detach(ctx, a, app, by, out); err != nil {
			return err
		}
	}
	if err := s.cfg.Addons.Destroy(ctx, name); err != nil {
		return fmt.Errorf("destroying add-on %s: %w", name, maskAll(err, a.Passwords()))
	}
	if err := s.removeBackups(name); err != nil {
		return err
	}
	return s.cfg.Store.DeleteAddon(name)
}

// attachedAddons lists the add-ons attached to app.
func (s *Service) attachedAddons(app string) ([]store.Addon, error) {
	all, err := s.cfg.Store.Addons()
	if err != nil {
		return nil, err
	}
	var out []store.Addon
	for _, a := range all {
		if _, ok := a.Attachments[app]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// addonPasswords lists every add-on's password, for masking.
func (s *Service) addonPasswords() []string {
	all, err := s.cfg.Store.Addons()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range all {
		out = append(out, a.Passwords()...)
	}
	return out
}

// settleAddons forgets every attachment whose var the app's current
// config lacks: what an attach or a detach interrupted by a stop of paasd
// leaves (the attach's release failed as pending, or the detach's release
// went live before the attachment was forgotten). The service leaves the
// app's network.
func (s *Service) settleAddons(ctx context.Context) error {
	all, err := s.cfg.Store.Addons()
	if err != nil {
		return err
	}
	for _, a := range all {
		for _, app := range slices.Sorted(maps.Keys(a.Attachments)) {
			key := a.Attachments[app]
			cfg, err := s.cfg.Store.Config(app)
			if errors.Is(err, paas.ErrAppDamaged) {
				continue // its config cannot be read: nothing to settle
			}
			if err != nil && !errors.Is(err, paas.ErrAppNotFound) {
				return err
			}
			if _, set := cfg[key]; set {
				continue
			}
			if err := s.cfg.Store.DetachAddon(a.Name, app); err != nil {
				return err
			}
			s.log.Warn("forgetting an interrupted add-on attachment", "addon", a.Name, "app", app, "var", key)
			if s.cfg.Addons != nil {
				if err := s.cfg.Addons.Detach(ctx, a.Name, app); err != nil {
					s.log.Error("detaching add-on", "addon", a.Name, "app", app, "err", mask(err, a.Password))
				}
			}
		}
	}
	return nil
}

// sweepAddons removes the services the store has no record of: what an
// addons:create interrupted between starting the service and recording
// it leaves. Nobody holds such a service's password and no app is
// attached to it, so no data is lost.
func (s *Service) sweepAddons(ctx context.Context) error {
	if s.cfg.Addons == nil {
		return nil
	}
	names, err := s.cfg.Addons.Names(ctx)
	if err != nil {
		s.log.Error("listing add-on services", "err", err)
		return nil
	}
	for _, name := range names {
		_, err := s.cfg.Store.Addon(name)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrAddonNotFound) {
			return err
		}
		s.log.Warn("removing an add-on service with no record (an interrupted addons:create)", "addon", name)
		if err := s.cfg.Addons.Destroy(ctx, name); err != nil {
			s.log.Error("removing an unrecorded add-on service", "addon", name, "err", err)
		}
	}
	return nil
}

// checkAddonVars refuses a config change of a var through which an add-on
// is attached to app: addons:detach changes it.
func (s *Service) checkAddonVars(app string, set map[string]string, unset []string) error {
	attached, err := s.attachedAddons(app)
	if err != nil {
		return err
	}
	for _, a := range attached {
		key := a.Attachments[app]
		if _, ok := set[key]; ok || slices.Contains(unset, key) {
			return paas.Errorf("%s is the URL of add-on %s: detach it with addons:detach %s %s", key, a.Name, a.Name, app)
		}
	}
	return nil
}
