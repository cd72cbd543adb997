package deploy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"paas"
	"paas/store"
)

// RotateAddon gives add-on name a new credential without downtime:
//
//  1. a new credential is recorded as the rotation in progress, then the
//     service is told to accept it besides the current one;
//  2. each attached app gets its var set to the new URL in a new release,
//     rolled out like a config change (the old instances keep using the
//     old credential until they are replaced);
//  3. once every app runs with the new URL, the new credential becomes the
//     add-on's and the old one is removed: the service stops accepting it
//     and closes its sessions.
//
// A failure before any app has the new URL undoes the rotation; a failure
// after leaves both credentials working and the rotation recorded as
// unfinished. Either way the message says so, and the old credential
// keeps working. Run again on an unfinished rotation, RotateAddon finishes
// it instead of starting another; Start finishes or reports one a stop of
// paasd interrupted.
func (s *Service) RotateAddon(ctx context.Context, name, by string, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	if err := s.addonsOn(); err != nil {
		return err
	}
	if err := validateAddonName(name); err != nil {
		return err
	}
	if s.cfg.AddonNextUser == nil {
		return paas.Errorf("this server cannot rotate add-on credentials")
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
	resumed := a.Rotation != nil
	switch {
	case resumed:
		fmt.Fprintf(out, "-----> Finishing the unfinished credential rotation of %s\n", name)
	case a.Retiring != nil:
		fmt.Fprintf(out, "-----> Removing the credential an earlier rotation of %s replaced\n", name)
		if err := s.retireCredential(ctx, a); err != nil {
			return err
		}
		fmt.Fprintf(out, "Rotated %s: the old credential no longer works\n", name)
		return nil
	default:
		cred := store.Credential{User: s.cfg.AddonNextUser(a.Engine, a.User), Password: s.cfg.NewPassword()}
		if a, err = s.cfg.Store.UpdateAddon(name, func(x *store.Addon) error {
			x.Rotation = &cred
			return nil
		}); err != nil {
			return err
		}
		fmt.Fprintf(out, "-----> Rotating the credential of %s\n", name)
	}
	if err := s.rotate(ctx, a, resumed, by, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "Rotated %s: %s, and the old credential no longer works\n", name, rotatedApps(a))
	return nil
}

// rotatedApps says which apps got a new URL.
func rotatedApps(a store.Addon) string {
	if len(a.Attachments) == 0 {
		return "attached to no app"
	}
	var parts []string
	for _, app := range slices.Sorted(maps.Keys(a.Attachments)) {
		parts = append(parts, app+" ("+a.Attachments[app]+")")
	}
	return "new URL on " + strings.Join(parts, ", ")
}

// rotate carries out steps 1 to 3 of RotateAddon for a, whose Rotation is
// set (by an earlier, interrupted attempt when resumed). The caller holds
// a's lock.
func (s *Service) rotate(ctx context.Context, a store.Addon, resumed bool, by string, out io.Writer) error {
	name, cred := a.Name, *a.Rotation
	if !cred.Added {
		if resumed {
			// The interrupted attempt may have added it unrecorded.
			_ = s.cfg.Addons.RemoveCredential(ctx, name, cred.User, cred.Password)
		}
		if err := s.cfg.Addons.AddCredential(ctx, name, cred.User, cred.Password); err != nil {
			s.abortRotation(ctx, a)
			return &paas.Error{Msg: fmt.Sprintf("rotating %s failed: adding the new credential: %s; the old credential still works", name, reasonOf(maskAll(err, a.Passwords()))), Err: err}
		}
		var err error
		if a, err = s.cfg.Store.UpdateAddon(name, func(x *store.Addon) error {
			if x.Rotation == nil {
				return fmt.Errorf("the rotation of %s vanished", name)
			}
			x.Rotation.Added = true
			return nil
		}); err != nil {
			return err
		}
	}
	url := s.cfg.AddonURL(a.Engine, cred.User, cred.Password, a.Host, a.Port)
	apps := slices.Sorted(maps.Keys(a.Attachments))
	for i, app := range apps {
		if err := s.switchURL(ctx, a, app, url, by, out); err != nil {
			done, err2 := s.switchedApps(a, apps, url)
			if err2 != nil {
				return err2
			}
			reason := s.scrub(app, reasonOf(maskAll(err, a.Passwords())))
			if len(done) == 0 {
				s.abortRotation(ctx, a)
				return &paas.Error{Msg: fmt.Sprintf("rotating %s failed: %s: %s; the old credential still works", name, app, reason), Err: err}
			}
			left := slices.DeleteFunc(slices.Clone(apps[i:]), func(x string) bool { return slices.Contains(done, x) })
			return &paas.Error{Msg: fmt.Sprintf("rotating %s stopped: %s: %s; %s use the new credential and %s the old one, both of which work until addons:rotate %s finishes the rotation", name, app, reason, strings.Join(done, ", "), strings.Join(left, ", "), name), Err: err}
		}
	}
	a, err := s.cfg.Store.UpdateAddon(name, func(x *store.Addon) error {
		if x.Rotation == nil {
			return fmt.Errorf("the rotation of %s vanished", name)
		}
		x.Retiring = &store.Credential{User: x.User, Password: x.Password}
		x.User, x.Password = x.Rotation.User, x.Rotation.Password
		x.Rotation = nil
		return nil
	})
	if err != nil {
		return err
	}
	for _, app := range apps {
		s.change(app, 0, "Credential of add-on %s rotated by %s", name, by)
	}
	return s.retireCredential(ctx, a)
}

// switchURL sets app's var of a to url in a new release, rolled out like
// a config change; nothing when app has it already.
func (s *Service) switchURL(ctx context.Context, a store.Addon, app, url, by string, out io.Writer) error {
	key := a.Attachments[app]
	st, unlock, err := s.begin(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	cfg, err := s.cfg.Store.Config(app)
	if err != nil {
		return userError(app, err)
	}
	if cfg[key] == url {
		return nil
	}
	done := s.rollingConfig(app, map[string]string{key: url})
	defer done()
	rel, err := s.cfg.Store.ChangeConfig(app, map[string]string{key: url}, nil, by)
	if err != nil {
		return userError(app, err)
	}
	relVersion := 0
	if rel != nil {
		relVersion = rel.Version
	}
	s.change(app, relVersion, "Config vars changed by %s: set %s (new credential of add-on %s)", by, key, a.Name)
	if rel == nil {
		return nil
	}
	fmt.Fprintf(out, "-----> Setting the new %s on %s\n", key, app)
	s.change(app, rel.Version, "Release %s created by %s: %s", rel.Name(), by, rel.Description)
	return s.rollout(ctx, st, *rel, out)
}

// switchedApps lists those of apps whose current config has a's var set
// to url.
func (s *Service) switchedApps(a store.Addon, apps []string, url string) ([]string, error) {
	var done []string
	for _, app := range apps {
		cfg, err := s.cfg.Store.Config(app)
		if err != nil {
			return nil, userError(app, err)
		}
		if cfg[a.Attachments[app]] == url {
			done = append(done, app)
		}
	}
	return done, nil
}

// abortRotation forgets a's rotation, no app having its credential, and
// has the service refuse that credential.
func (s *Service) abortRotation(ctx context.Context, a store.Addon) {
	cred := *a.Rotation
	if err := s.cfg.Addons.RemoveCredential(context.WithoutCancel(ctx), a.Name, cred.User, cred.Password); err != nil && cred.Added {
		s.log.Error("removing the credential of an abandoned rotation", "addon", a.Name, "err", mask(err, cred.Password))
	}
	if _, err := s.cfg.Store.UpdateAddon(a.Name, func(x *store.Addon) error {
		x.Rotation = nil
		return nil
	}); err != nil {
		s.log.Error("forgetting an abandoned rotation", "addon", a.Name, "err", err)
	}
}

// retireCredential has the service refuse a's Retiring credential, then forgets it.
func (s *Service) retireCredential(ctx context.Context, a store.Addon) error {
	old := *a.Retiring
	if err := s.cfg.Addons.RemoveCredential(ctx, a.Name, old.User, old.Password); err != nil {
		return &paas.Error{Msg: fmt.Sprintf("every app of %s uses the new credential, but removing the old one failed: %s; addons:rotate %s (or the next start of paasd) tries again", a.Name, reasonOf(maskAll(err, a.Passwords())), a.Name), Err: err}
	}
	_, err := s.cfg.Store.UpdateAddon(a.Name, func(x *store.Addon) error {
		x.Retiring = nil
		return nil
	})
	return err
}

// rotationNote says how an unfinished rotation of a stands, for
// addons:info; "" when there is none.
func rotationNote(a store.Addon) string {
	switch {
	case a.Rotation != nil:
		return fmt.Sprintf("unfinished (both credentials work): run addons:rotate %s to finish it", a.Name)
	case a.Retiring != nil:
		return fmt.Sprintf("unfinished (the old credential still works): run addons:rotate %s to remove it", a.Name)
	}
	return ""
}

// settleRotations finishes what a stop of paasd interrupted: a replaced
// credential is removed; a rotation whose new URL every attached app
// already runs with is finished; one whose new credential was never
// accepted is abandoned; any other is left, both credentials working, and
// reported on the apps' streams and by addons:info.
func (s *Service) settleRotations(ctx context.Context) error {
	if s.cfg.Addons == nil {
		return nil
	}
	all, err := s.cfg.Store.Addons()
	if err != nil {
		return err
	}
	for _, a := range all {
		switch {
		case a.Rotation != nil && !a.Rotation.Added:
			s.log.Warn("abandoning an interrupted credential rotation", "addon", a.Name)
			s.abortRotation(ctx, a)
		case a.Rotation != nil:
			cred := a.Rotation
			url := s.cfg.AddonURL(a.Engine, cred.User, cred.Password, a.Host, a.Port)
			apps := slices.Sorted(maps.Keys(a.Attachments))
			done, err := s.switchedApps(a, apps, url)
			if err != nil {
				return err
			}
			if len(done) < len(apps) {
				s.log.Warn("an interrupted credential rotation is unfinished", "addon", a.Name)
				for _, app := range apps {
					s.event(app, "The credential rotation of add-on %s was interrupted: both credentials work until addons:rotate %s finishes it", a.Name, a.Name)
				}
				continue
			}
			s.log.Info("finishing an interrupted credential rotation", "addon", a.Name)
			if err := s.rotate(ctx, a, true, "paasd", io.Discard); err != nil {
				s.log.Error("finishing a credential rotation", "addon", a.Name, "err", err)
			}
		case a.Retiring != nil:
			if err := s.retireCredential(ctx, a); err != nil {
				s.log.Error("removing a replaced credential", "addon", a.Name, "err", err)
			}
		}
	}
	return nil
}
