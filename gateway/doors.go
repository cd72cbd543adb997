package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"paas"
	"paas/access"
)

// Every way into an app goes through allow: each command of the table
// (dispatch checks the operand its door names before the command runs),
// git push and git fetch/clone, and the hook socket a push deploys
// through. allow asks access.Decide, the one rule.

// operand is what a command acts on, for the access check.
type operand int

const (
	// onUnset is the zero value: a command that does not say what it
	// acts on. The table test fails on one, and init refuses it.
	onUnset operand = iota
	// onNothing: no app or add-on. Anyone may run the command; it shows
	// only what the user may see, or checks inside (keys:remove of
	// another user's key, addons APP).
	onNothing
	// onServer: no app or add-on, an action on the server as a whole:
	// Create (apps:create) or Admin (keys:add).
	onServer
	// onApp: the APP operand, which comes first.
	onApp
	// onAddon: the add-on NAME operand, which comes first; addons:attach
	// and addons:detach check their APP operand too.
	onAddon
)

// door is what a command asks of the user: an action on its operand.
type door struct {
	on     operand
	action access.Action
}

// user is who a session acts for: the user behind the key it
// authenticated with.
type user struct {
	name  string
	admin bool
}

// object names an app or an add-on.
type object struct {
	addon bool
	name  string
}

func appObj(name string) object   { return object{name: name} }
func addonObj(name string) object { return object{addon: true, name: name} }

// notFound is the answer for an object that does not exist, and the same
// bytes for one the user may not see.
func (o object) notFound() error {
	if o.addon {
		return &paas.Error{Msg: fmt.Sprintf("add-on %s not found", o.name), Err: access.ErrHidden}
	}
	return &paas.Error{Msg: fmt.Sprintf("app %s not found", o.name), Err: paas.ErrAppNotFound}
}

// relation is how u stands to o, and whether o exists.
func (s *Server) relation(u user, o object) (access.Relation, bool, error) {
	if o.addon {
		return s.cfg.Platform.AddonRelation(o.name, u.name)
	}
	return s.cfg.Platform.Relation(o.name, u.name)
}

// allow is the one check every door makes: may u take action a on o (an
// app, an add-on, or nothing for Create and Admin)? It returns nil, the
// one-line refusal, or, when u may not see o, exactly the error an
// object that does not exist gets.
func (s *Server) allow(u user, a access.Action, o object) error {
	err := access.Check(u.admin, func() (access.Relation, error) {
		r, _, err := s.relation(u, o)
		if err != nil {
			return access.None, fmt.Errorf("looking up %s's access to %s: %w", u.name, o.name, err)
		}
		return r, nil
	}, a, o.name)
	if errors.Is(err, access.ErrHidden) {
		return o.notFound()
	}
	return err
}

// gate runs the access check of c's door on the operands dispatch read.
func (s *Server) gate(r *request, c *command, app string, args []string) error {
	switch c.door.on {
	case onNothing:
		return nil
	case onServer:
		return s.allow(r.user, c.door.action, object{})
	case onApp:
		return s.allow(r.user, c.door.action, appObj(app))
	case onAddon:
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return usageError(c)
		}
		if err := validateAddonName(args[0]); err != nil {
			return err
		}
		return s.allow(r.user, c.door.action, addonObj(args[0]))
	}
	return fmt.Errorf("command %s has no door", c.name)
}

// visibleApps lists the names of the apps u may see, sorted: all of them
// for an admin. The relations to every app are read at once, and Decide
// answers for each app as allow would.
func (s *Server) visibleApps(ctx context.Context, u user) ([]string, error) {
	rels, err := s.cfg.Platform.AppRelations(ctx, u.name)
	if err != nil {
		return nil, err
	}
	return access.Visible(u.admin, rels)
}

// visibleAddons keeps the add-ons of list u may see.
func (s *Server) visibleAddons(u user, list []paas.Addon) ([]paas.Addon, error) {
	if u.admin {
		return list, nil
	}
	var kept []paas.Addon
	for _, a := range list {
		err := s.allow(u, access.Read, addonObj(a.Name))
		switch {
		case err == nil:
			kept = append(kept, a)
		case !errors.Is(err, access.ErrHidden):
			return nil, err
		}
	}
	return kept, nil
}
