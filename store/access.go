package store

import (
	"fmt"
	"slices"

	"paas"

	bolt "go.etcd.io/bbolt"
)

var bucketAccess = []byte("access") // app -> appAccess

// appAccess is who may act on one app besides the admins.
type appAccess struct {
	Owner         string   `json:"owner"`
	Collaborators []string `json:"collaborators,omitempty"`
}

func loadAccess(tx *bolt.Tx, app string) (appAccess, error) {
	var a appAccess
	if tx.Bucket(bucketApps).Get([]byte(app)) == nil {
		return a, paas.ErrAppNotFound
	}
	if _, err := get(tx.Bucket(bucketAccess), []byte(app), &a); err != nil {
		return a, fmt.Errorf("reading access to %s: %w", app, err)
	}
	return a, nil
}

func saveAccess(tx *bolt.Tx, app string, a appAccess) error {
	return put(tx.Bucket(bucketAccess), []byte(app), a)
}

// AppAccess returns the app's owner and its collaborators, sorted. It
// fails with paas.ErrAppNotFound when there is no such app.
func (s *Store) AppAccess(app string) (owner string, collaborators []string, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		a, err := loadAccess(tx, app)
		owner, collaborators = a.Owner, a.Collaborators
		return err
	})
	return owner, collaborators, err
}

// AppOwners is who may act on one app besides the admins.
type AppOwners struct {
	App           string
	Owner         string
	Collaborators []string
}

// EveryAppAccess returns every app with its owner and collaborators,
// sorted by app, read in one transaction: listing apps for a user asks
// this once instead of AppAccess for each app. An app with no access
// record (made before apps had owners) has no owner.
func (s *Store) EveryAppAccess() ([]AppOwners, error) {
	var all []AppOwners
	err := s.db.View(func(tx *bolt.Tx) error {
		acc := tx.Bucket(bucketAccess)
		return tx.Bucket(bucketApps).ForEach(func(k, _ []byte) error {
			var a appAccess
			if _, err := get(acc, k, &a); err != nil {
				return fmt.Errorf("reading access to %s: %w", k, err)
			}
			all = append(all, AppOwners{App: string(k), Owner: a.Owner, Collaborators: a.Collaborators})
			return nil
		})
	})
	return all, err
}

// changeAccess loads the app's access and user's record, applies f and
// saves the access, in one transaction.
func (s *Store) changeAccess(app, user string, f func(a *appAccess) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		a, err := loadAccess(tx, app)
		if err != nil {
			return err
		}
		if _, ok, err := loadUser(tx, user); err != nil {
			return err
		} else if !ok {
			return unknownUser(user)
		}
		if err := f(&a); err != nil {
			return err
		}
		return saveAccess(tx, app, a)
	})
}

// AddCollaborator gives user access to app as a collaborator. An unknown
// user, the owner, or a user who already collaborates is refused.
func (s *Store) AddCollaborator(app, user string) error {
	return s.changeAccess(app, user, func(a *appAccess) error {
		if a.Owner == user {
			return paas.Errorf("%s owns %s", user, app)
		}
		if slices.Contains(a.Collaborators, user) {
			return paas.Errorf("%s is already a collaborator on %s", user, app)
		}
		a.Collaborators = append(a.Collaborators, user)
		slices.Sort(a.Collaborators)
		return nil
	})
}

// RemoveCollaborator takes user's access to app away. A user who is not a
// collaborator on it is refused; so is the owner, whose app must be
// transferred instead.
func (s *Store) RemoveCollaborator(app, user string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		a, err := loadAccess(tx, app)
		if err != nil {
			return err
		}
		if a.Owner == user {
			return paas.Errorf("%s owns %s: transfer it to someone else instead", user, app)
		}
		i := slices.Index(a.Collaborators, user)
		if i < 0 {
			return paas.Errorf("%s is not a collaborator on %s", user, app)
		}
		a.Collaborators = slices.Delete(a.Collaborators, i, i+1)
		return saveAccess(tx, app, a)
	})
}

// TransferApp makes user the app's owner; the previous owner stays on as
// a collaborator. An unknown user, or the owner, is refused.
func (s *Store) TransferApp(app, user string) error {
	return s.changeAccess(app, user, func(a *appAccess) error {
		if a.Owner == user {
			return paas.Errorf("%s already owns %s", user, app)
		}
		a.Collaborators = slices.DeleteFunc(a.Collaborators, func(c string) bool { return c == user })
		if a.Owner != "" {
			a.Collaborators = append(a.Collaborators, a.Owner)
			slices.Sort(a.Collaborators)
		}
		a.Owner = user
		return nil
	})
}

// appsOwnedBy lists the apps user owns, sorted.
func appsOwnedBy(tx *bolt.Tx, user string) ([]string, error) {
	var apps []string
	err := tx.Bucket(bucketAccess).ForEach(func(k, v []byte) error {
		var a appAccess
		if err := jsonUnmarshal(v, &a); err != nil {
			return err
		}
		if a.Owner == user {
			apps = append(apps, string(k))
		}
		return nil
	})
	return apps, err
}

// forgetUserAccess removes user from every app's collaborators.
func forgetUserAccess(tx *bolt.Tx, user string) error {
	b := tx.Bucket(bucketAccess)
	type change struct {
		app string
		a   appAccess
	}
	var changes []change
	err := b.ForEach(func(k, v []byte) error {
		var a appAccess
		if err := jsonUnmarshal(v, &a); err != nil {
			return err
		}
		if i := slices.Index(a.Collaborators, user); i >= 0 {
			a.Collaborators = slices.Delete(a.Collaborators, i, i+1)
			changes = append(changes, change{string(k), a})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range changes {
		if err := saveAccess(tx, c.app, c.a); err != nil {
			return err
		}
	}
	return nil
}
