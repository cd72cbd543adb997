package deploy

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"paas"
	"paas/access"
	"paas/store"
)

// User returns the user behind the key with the given fingerprint, and
// the key; ok is false for a key nobody has (or whose user is gone).
func (s *Service) User(fingerprint string) (paas.User, paas.Key, bool) {
	k, ok, err := s.cfg.Store.KeyByFingerprint(fingerprint)
	if err != nil {
		s.log.Error("looking up key", "err", err)
		return paas.User{}, paas.Key{}, false
	}
	if !ok || k.User == "" {
		return paas.User{}, paas.Key{}, false
	}
	u, ok, err := s.cfg.Store.User(k.User)
	if err != nil {
		s.log.Error("looking up user", "user", k.User, "err", err)
		return paas.User{}, paas.Key{}, false
	}
	if !ok {
		return paas.User{}, paas.Key{}, false
	}
	return u, k, true
}

// Relation returns how user stands to app, and whether the app exists.
// An invalid app name is an app that does not exist.
func (s *Service) Relation(app, user string) (access.Relation, bool, error) {
	if paas.ValidateAppName(app) != nil {
		return access.None, false, nil
	}
	owner, collaborators, err := s.cfg.Store.AppAccess(app)
	if errors.Is(err, paas.ErrAppNotFound) {
		return access.None, false, nil
	}
	if err != nil {
		return access.None, false, fmt.Errorf("looking up access to %s: %w", app, err)
	}
	return relation(user, owner, collaborators), true, nil
}

// AppRelations returns every app's name with how user stands to it,
// read in one transaction.
func (s *Service) AppRelations(ctx context.Context, user string) (map[string]access.Relation, error) {
	all, err := s.cfg.Store.EveryAppAccess()
	if err != nil {
		return nil, fmt.Errorf("listing access to apps: %w", err)
	}
	rels := make(map[string]access.Relation, len(all))
	for _, a := range all {
		rels[a.App] = relation(user, a.Owner, a.Collaborators)
	}
	return rels, nil
}

func relation(user, owner string, collaborators []string) access.Relation {
	if user == "" {
		return access.None
	}
	if owner == user {
		return access.Owner
	}
	for _, c := range collaborators {
		if c == user {
			return access.Collaborator
		}
	}
	return access.None
}

// AddonRelation returns how user stands to add-on name, and whether it
// exists: the highest relation the user has to the apps it is attached
// to; for an add-on attached to none, Owner for the user who created it.
func (s *Service) AddonRelation(name, user string) (access.Relation, bool, error) {
	a, err := s.cfg.Store.Addon(name)
	if errors.Is(err, store.ErrAddonNotFound) {
		return access.None, false, nil
	}
	if err != nil {
		return access.None, false, fmt.Errorf("looking up add-on %s: %w", name, err)
	}
	if len(a.Attachments) == 0 {
		if user != "" && a.CreatedBy == user {
			return access.Owner, true, nil
		}
		return access.None, true, nil
	}
	best := access.None
	for app := range a.Attachments {
		rel, _, err := s.Relation(app, user)
		if err != nil {
			return access.None, true, err
		}
		best = max(best, rel)
	}
	return best, true, nil
}

// fingerprintRe is the form of a SHA256 key fingerprint as ssh-keygen -l
// and keys print it.
var fingerprintRe = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)

// validFingerprint returns a user-facing error when fp is not a SHA256
// fingerprint.
func validFingerprint(fp string) error {
	if !fingerprintRe.MatchString(fp) {
		return paas.Errorf("invalid fingerprint %q: use the SHA256:... form keys lists", fp)
	}
	return nil
}

// AddKey adds key k (its Fingerprint, PublicKey and Options set) to user,
// creating the user when new, an admin when admin is set; by names who
// adds it. A key another user has, or the user has already, is refused.
func (s *Service) AddKey(ctx context.Context, user string, admin bool, k paas.Key, by string) error {
	if err := s.cfg.Store.AddKey(user, admin, k, by); err != nil {
		return err
	}
	s.log.Info("key added", "user", user, "fingerprint", k.Fingerprint, "admin", admin, "by", by)
	return nil
}

// RemoveKey removes user's key with the given fingerprint, or all the
// user's keys and the user when fingerprint is "", and returns the keys
// removed, so that their open sessions can be closed.
func (s *Service) RemoveKey(ctx context.Context, user, fingerprint string) ([]paas.Key, error) {
	if err := paas.ValidateUserName(user); err != nil {
		return nil, err
	}
	if fingerprint != "" {
		if err := validFingerprint(fingerprint); err != nil {
			return nil, err
		}
	}
	removed, err := s.cfg.Store.RemoveKey(user, fingerprint)
	if err != nil {
		return nil, err
	}
	for _, k := range removed {
		s.log.Info("key removed", "user", user, "fingerprint", k.Fingerprint)
	}
	return removed, nil
}

// Users lists every user, sorted by name.
func (s *Service) Users(ctx context.Context) ([]paas.User, error) {
	return s.cfg.Store.Users()
}

// KeysOf lists user's keys, or every user's when user is "", by user then
// as added. An unknown user is a *paas.Error.
func (s *Service) KeysOf(ctx context.Context, user string) ([]paas.Key, error) {
	if user == "" {
		return s.cfg.Store.Keys()
	}
	if err := paas.ValidateUserName(user); err != nil {
		return nil, err
	}
	return s.cfg.Store.KeysOf(user)
}

// AppAccess returns the app's owner and collaborators.
func (s *Service) AppAccess(ctx context.Context, app string) (owner string, collaborators []string, err error) {
	if err := paas.ValidateAppName(app); err != nil {
		return "", nil, err
	}
	owner, collaborators, err = s.cfg.Store.AppAccess(app)
	return owner, collaborators, userError(app, err)
}

// AddCollaborator gives user access to app; by names who did.
func (s *Service) AddCollaborator(ctx context.Context, app, user, by string) error {
	if err := paas.ValidateAppName(app); err != nil {
		return err
	}
	if err := paas.ValidateUserName(user); err != nil {
		return err
	}
	if err := s.cfg.Store.AddCollaborator(app, user); err != nil {
		return userError(app, err)
	}
	s.change(app, 0, "%s given access by %s", user, by)
	return nil
}

// RemoveCollaborator takes user's access to app away; by names who did.
func (s *Service) RemoveCollaborator(ctx context.Context, app, user, by string) error {
	if err := paas.ValidateAppName(app); err != nil {
		return err
	}
	if err := paas.ValidateUserName(user); err != nil {
		return err
	}
	if err := s.cfg.Store.RemoveCollaborator(app, user); err != nil {
		return userError(app, err)
	}
	s.change(app, 0, "Access of %s removed by %s", user, by)
	return nil
}

// TransferApp makes user the app's owner, the previous owner staying on
// as a collaborator; by names who did.
func (s *Service) TransferApp(ctx context.Context, app, user, by string) error {
	if err := paas.ValidateAppName(app); err != nil {
		return err
	}
	if err := paas.ValidateUserName(user); err != nil {
		return err
	}
	if err := s.cfg.Store.TransferApp(app, user); err != nil {
		return userError(app, err)
	}
	s.change(app, 0, "App transferred to %s by %s", user, by)
	return nil
}
