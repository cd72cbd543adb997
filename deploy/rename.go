package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"

	"paas"
	"paas/store"
)

// buildRenamer is implemented by builders whose artifacts are named by
// their app: they move with it.
type buildRenamer interface {
	RenameApp(ctx context.Context, old, new string) error
	RenamedSlug(slug, old, new string) string
}

// RenameApp gives app old the name new. It is refused at once while a
// deploy or another change holds the app's lock. The app's instances and
// one-offs stop, its builds move to the new name, the store moves
// everything it keeps of the app in one transaction (opts says how to
// move what it keeps for others: certificates), then the log history
// moves, add-ons join the new name's network, and the current release
// starts again under the new name: a brief restart, not a rolling one.
// OLD.DOMAIN stops routing and NEW.DOMAIN routes; custom domains follow.
func (s *Service) RenameApp(ctx context.Context, old, new, by string, opts store.RenameOptions, out io.Writer) error {
	if err := paas.ValidateNewAppName(new); err != nil {
		return err
	}
	if old == new {
		return paas.Errorf("%s is already named %s", old, new)
	}
	if _, err := s.App(ctx, new); err == nil {
		return paas.Errorf("app %s already exists: choose a free name", new)
	} else if !errors.Is(err, paas.ErrAppNotFound) {
		return err
	}
	st, unlock, err := s.begin(paas.WithNoWait(ctx), old, nil)
	if err != nil {
		return err
	}
	defer unlock()
	a, err := s.cfg.Store.App(old)
	if err != nil {
		return userError(old, err)
	}
	var rel paas.Release
	if a.Release > 0 {
		if rel, err = s.cfg.Store.Release(old, a.Release); err != nil {
			return err
		}
	}
	ctx = context.WithoutCancel(ctx)

	if len(st.all()) > 0 {
		fmt.Fprintf(out, "-----> Stopping %s's processes\n", old)
	}
	s.runs.stop(ctx, old)
	st.mu.Lock()
	st.target = 0
	st.mu.Unlock()
	s.stopAll(st, st.all())
	// restore brings old back when the rename cannot be made.
	restore := func(cause error) error {
		if a.Release > 0 {
			if err := s.converge(ctx, st, rel, a, out); err != nil {
				s.log.Error("restarting an app after a failed rename", "app", old, "err", err)
			}
		}
		return cause
	}

	br, _ := s.cfg.Builder.(buildRenamer)
	if br != nil {
		if err := br.RenameApp(ctx, old, new); err != nil {
			return restore(fmt.Errorf("moving the builds of %s: %w", old, err))
		}
		opts.Slug = func(slug string) string { return br.RenamedSlug(slug, old, new) }
	}
	if err := s.cfg.Store.RenameApp(old, new, opts); err != nil {
		if br != nil {
			if uerr := br.RenameApp(ctx, new, old); uerr != nil {
				s.log.Error("moving builds back after a failed rename", "app", old, "err", uerr)
			}
		}
		if errors.Is(err, paas.ErrAppExists) {
			return restore(paas.Errorf("app %s already exists: choose a free name", new))
		}
		return restore(userError(old, err))
	}

	// The rename is made; what follows moves what lives outside the store.
	s.mu.Lock()
	delete(s.apps, old)
	s.mu.Unlock()
	s.cfg.Router.Remove(old)
	s.observer().AppRenamed(old, new)
	if br != nil {
		if err := s.cfg.Builder.Remove(old); err != nil {
			s.log.Error("removing the old name's build leftovers", "app", old, "err", err)
		}
	}
	if r, ok := s.cfg.Runtime.(appRemover); ok {
		if err := r.RemoveApp(ctx, old); err != nil {
			s.log.Error("removing the old name from the runtime", "app", old, "err", err)
		}
	}
	if err := s.cfg.Logs.Rename(old, new); err != nil {
		s.log.Error("moving log history", "app", new, "err", err)
	}
	if s.cfg.Addons != nil {
		addons, err := s.attachedAddons(new)
		if err != nil {
			s.log.Error("listing add-ons of a renamed app", "app", new, "err", err)
		}
		for _, ad := range addons {
			if err := s.cfg.Addons.Attach(ctx, ad.Name, new); err != nil {
				s.log.Error("attaching add-on to the new name", "addon", ad.Name, "app", new, "err", mask(err, ad.Password))
			}
			if err := s.cfg.Addons.Detach(ctx, ad.Name, old); err != nil {
				s.log.Error("detaching add-on from the old name", "addon", ad.Name, "app", old, "err", mask(err, ad.Password))
			}
		}
	}
	if a, err = s.cfg.Store.App(new); err != nil {
		return userError(new, err)
	}
	s.cfg.Router.Set(new, nil)
	s.cfg.Router.SetOptions(new, routerOptions(a))
	s.cfg.Router.SetMaintenance(new, a.Maintenance)
	s.change(new, a.Release, "App renamed from %s to %s by %s", old, new, by)
	if a.Release == 0 {
		return nil
	}
	if rel, err = s.cfg.Store.Release(new, a.Release); err != nil {
		return err
	}
	nst := s.state(new)
	nunlock, err := s.lock(ctx, nst, out)
	if err != nil {
		return err
	}
	defer nunlock()
	fmt.Fprintf(out, "-----> Starting %s's processes as %s\n", old, new)
	return s.converge(ctx, nst, rel, a, out)
}
