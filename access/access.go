// Package access holds the one rule that decides what a user may do to an
// app: every door of the platform (each SSH command, git push and fetch,
// the hook socket, the handoff) asks Decide before acting. The package does
// no I/O: the caller looks up whether the user is an admin and how the user
// stands to the app, and Decide answers.
package access

import (
	"errors"
	"fmt"
	"slices"

	"paas"
)

// Relation is how a user stands to one app (or add-on).
type Relation int

// Relations, from none to the most.
const (
	// None: the user neither owns nor collaborates on the app, or the app
	// does not exist.
	None Relation = iota
	// Collaborator: the user was given access to the app by its owner.
	Collaborator
	// Owner: the user created the app, or it was transferred to them.
	Owner
)

// String names the relation as `access` lists it.
func (r Relation) String() string {
	switch r {
	case None:
		return "none"
	case Collaborator:
		return "collaborator"
	case Owner:
		return "owner"
	}
	return fmt.Sprintf("Relation(%d)", int(r))
}

// Action is what a user asks to do.
type Action int

// Actions.
const (
	// Read: see the app: apps:info, ps, releases, logs, config, domains,
	// certs, drains, the add-ons attached to it; git fetch and clone.
	Read Action = iota
	// Deploy: git push.
	Deploy
	// Change: config:set/unset, ps:scale/set/restart/stop/start, run,
	// rollback, maintenance, domains, certs, drains, proxy, and
	// addons:create/attach/detach on the app.
	Change
	// Destroy: apps:destroy.
	Destroy
	// Share: access:add, access:remove, apps:transfer.
	Share
	// Create: apps:create (no app yet).
	Create
	// Admin: managing other users and their keys, listing every key.
	Admin
)

var actionNames = [...]string{"read", "deploy", "change", "destroy", "share", "create", "admin"}

// String names the action.
func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// ErrHidden is Decide's answer when the user may not even know whether the
// app exists: the caller must answer exactly as for an app that does not
// exist, so that app names cannot be probed.
var ErrHidden = errors.New("app hidden")

// Decide is the one rule. isAdmin says the user is an admin; rel is the
// user's relation to app (None when there is no app or it does not
// exist). It returns nil when the action is allowed, ErrHidden when the
// user may not see the app, or a one-line *paas.Error saying who may.
//
// An admin may do everything. Any user may create an app. Only an admin
// may take an Admin action. Otherwise a user with no relation to the app
// is not told it exists; a collaborator may Read, Deploy and Change; the
// owner may also Destroy and Share.
func Decide(isAdmin bool, rel Relation, a Action, app string) error {
	if isAdmin {
		return nil
	}
	switch a {
	case Create:
		return nil
	case Admin:
		return paas.Errorf("permission denied: only an admin may do this")
	}
	switch rel {
	case Owner:
		if a <= Share {
			return nil
		}
	case Collaborator:
		switch a {
		case Read, Deploy, Change:
			return nil
		case Destroy:
			return paas.Errorf("permission denied: only the owner of %s may destroy it", app)
		case Share:
			return paas.Errorf("permission denied: only the owner of %s may change who has access to it", app)
		}
	case None:
		return ErrHidden
	}
	// An action or relation this rule does not know is refused.
	return ErrHidden
}

// Visible lists, sorted, the apps of rels (each app's relation to the
// user) that the user may see: Decide's answer to Read for each. Every
// listing of apps (the apps command, the dashboard) goes through it.
func Visible(isAdmin bool, rels map[string]Relation) ([]string, error) {
	var kept []string
	for app, rel := range rels {
		err := Decide(isAdmin, rel, Read, app)
		switch {
		case err == nil:
			kept = append(kept, app)
		case !errors.Is(err, ErrHidden):
			return nil, err
		}
	}
	slices.Sort(kept)
	return kept, nil
}

// Check is Decide for a user whose relation to app is looked up only
// when it matters (not for an admin, nor for an action on no app):
// relation is how every door reads it from the store.
func Check(isAdmin bool, relation func() (Relation, error), a Action, app string) error {
	rel := None
	if !isAdmin && app != "" {
		r, err := relation()
		if err != nil {
			return err
		}
		rel = r
	}
	return Decide(isAdmin, rel, a, app)
}
