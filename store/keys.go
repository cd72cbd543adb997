package store

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// ErrKeyExists is wrapped by AddKey's error when the user already has the
// key.
var ErrKeyExists = errors.New("key already added")

// ErrKeyRemoved is AdmitListedKey's error for a key that was removed
// with keys:remove since the list named it.
var ErrKeyRemoved = errors.New("key was removed")

// bucketRemovedKeys holds the fingerprints of removed keys, so that a
// list of admin keys read at each start does not bring one back.
var bucketRemovedKeys = []byte("removed-keys") // fingerprint -> removedKey

// removedKey records a key's removal.
type removedKey struct {
	User      string
	RemovedAt time.Time
}

// AddKey adds key k to user, creating the user (an admin when admin is
// set) when new; by names who adds it. An existing member given admin
// becomes an admin; an admin stays one. A fingerprint another user has is
// refused, as is one the user already has (ErrKeyExists); nothing changes
// then.
func (s *Store) AddKey(user string, admin bool, k paas.Key, by string) error {
	return s.addKey(user, admin, k, by, false, false)
}

// AdmitKey is AddKey for the operator's own list of admin keys
// (PAAS_AUTHORIZED_KEYS): a key already stored stays its user's, who is
// made an admin, and is replaced (its name and options as now written),
// keeping when and by whom it was first added; a new key goes to user,
// made an admin.
func (s *Store) AdmitKey(user string, k paas.Key, by string) error {
	return s.addKey(user, true, k, by, true, false)
}

// AdmitListedKey is AdmitKey for a key of the list read at each start,
// which does not bring back a key removed since: that is ErrKeyRemoved,
// and nothing changes. AddKey and AdmitKey add a removed key again.
func (s *Store) AdmitListedKey(user string, k paas.Key, by string) error {
	return s.addKey(user, true, k, by, true, true)
}

func (s *Store) addKey(user string, admin bool, k paas.Key, by string, replace, listed bool) error {
	if err := paas.ValidateUserName(user); err != nil {
		return err
	}
	if k.Fingerprint == "" || k.PublicKey == "" {
		return fmt.Errorf("adding a key to %s: no key", user)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		removed := tx.Bucket(bucketRemovedKeys)
		if listed && removed.Get([]byte(k.Fingerprint)) != nil {
			return &paas.Error{Msg: fmt.Sprintf("key %s was removed with keys:remove: not admitted again", k.Fingerprint), Err: ErrKeyRemoved}
		}
		if err := removed.Delete([]byte(k.Fingerprint)); err != nil {
			return err
		}
		keys := tx.Bucket(bucketKeys)
		var old paas.Key
		found, err := get(keys, []byte(k.Fingerprint), &old)
		if err != nil {
			return fmt.Errorf("reading key %s: %w", k.Fingerprint, err)
		}
		if found && old.User != user {
			if !replace {
				return paas.Errorf("key %s already belongs to user %s", k.Fingerprint, old.User)
			}
			// The operator's list admits the key as an admin: its user
			// becomes one, whatever name the list's comment suggests.
			user = old.User
		}
		if found && !replace {
			return &paas.Error{Msg: fmt.Sprintf("user %s already has key %s", user, k.Fingerprint), Err: ErrKeyExists}
		}
		u, ok, err := loadUser(tx, user)
		if err != nil {
			return err
		}
		if !ok {
			u = paas.User{Name: user, CreatedAt: s.now(), CreatedBy: by}
		}
		if admin && !u.Admin {
			u.Admin = true
		}
		if !ok || admin {
			if err := put(tx.Bucket(bucketUsers), []byte(user), u); err != nil {
				return err
			}
		}
		k.User = user
		k.Admin = u.Admin
		k.AddedAt, k.AddedBy = s.now(), by
		if found {
			k.AddedAt, k.AddedBy = old.AddedAt, old.AddedBy
		}
		if k.Name == "" {
			k.Name = user
		}
		return put(keys, []byte(k.Fingerprint), k)
	})
}

// RemoveKey removes user's key with the given fingerprint, or, when
// fingerprint is "", all of the user's keys and the user. It returns the
// keys removed. It refuses, changing nothing, to remove the last key of
// the last admin that has one, to remove a key that is not the user's,
// and to remove a user who still owns apps, or add-ons attached to none
// (which are their creator's).
func (s *Store) RemoveKey(user, fingerprint string) ([]paas.Key, error) {
	var removed []paas.Key
	err := s.db.Update(func(tx *bolt.Tx) error {
		u, ok, err := loadUser(tx, user)
		if err != nil {
			return err
		}
		if !ok {
			return unknownUser(user)
		}
		all, err := allKeys(tx)
		if err != nil {
			return err
		}
		var left []paas.Key
		for _, k := range all {
			switch {
			case k.User == user && (fingerprint == "" || k.Fingerprint == fingerprint):
				removed = append(removed, k)
			default:
				left = append(left, k)
			}
		}
		if fingerprint != "" && len(removed) == 0 {
			return paas.Errorf("user %s has no key %s", user, fingerprint)
		}
		if u.Admin && len(removed) > 0 && !adminWithKey(tx, left) {
			return paas.Errorf("%s has the last admin key: add another admin first", user)
		}
		if fingerprint == "" {
			owned, err := appsOwnedBy(tx, user)
			if err != nil {
				return err
			}
			if len(owned) > 0 {
				return paas.Errorf("user %s owns %s: transfer or destroy it first", user, joinApps(owned))
			}
			if addon, err := addonOwnedBy(tx, user); err != nil {
				return err
			} else if addon != "" {
				return paas.Errorf("user %s owns add-on %s, attached to no app: attach or destroy it first", user, addon)
			}
			if err := forgetUserAccess(tx, user); err != nil {
				return err
			}
			if err := tx.Bucket(bucketUsers).Delete([]byte(user)); err != nil {
				return err
			}
		}
		gone := map[string]bool{}
		for _, k := range removed {
			if err := tx.Bucket(bucketKeys).Delete([]byte(k.Fingerprint)); err != nil {
				return err
			}
			if err := put(tx.Bucket(bucketRemovedKeys), []byte(k.Fingerprint), removedKey{User: k.User, RemovedAt: s.now()}); err != nil {
				return err
			}
			gone[k.Fingerprint] = true
		}
		// The key's dashboard sessions end with it.
		return forgetDashSessionsOf(tx, gone)
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// addonOwnedBy returns the first add-on attached to no app that user
// created (and so owns), or "".
func addonOwnedBy(tx *bolt.Tx, user string) (string, error) {
	var name string
	err := tx.Bucket(bucketAddons).ForEach(func(k, v []byte) error {
		var a Addon
		if err := jsonUnmarshal(v, &a); err != nil {
			return err
		}
		if name == "" && a.CreatedBy == user && len(a.Attachments) == 0 {
			name = string(k)
		}
		return nil
	})
	return name, err
}

// adminWithKey reports whether one of keys belongs to an admin.
func adminWithKey(tx *bolt.Tx, keys []paas.Key) bool {
	for _, k := range keys {
		if u, ok, err := loadUser(tx, k.User); err == nil && ok && u.Admin {
			return true
		}
	}
	return false
}

func joinApps(apps []string) string {
	if len(apps) == 1 {
		return "app " + apps[0]
	}
	s := "apps "
	for i, a := range apps {
		if i > 0 {
			s += ", "
		}
		s += a
	}
	return s
}

// KeyByFingerprint returns the key with the given SHA256 fingerprint.
func (s *Store) KeyByFingerprint(fp string) (paas.Key, bool, error) {
	var k paas.Key
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		ok, err = get(tx.Bucket(bucketKeys), []byte(fp), &k)
		return err
	})
	return k, ok, err
}

// Keys lists every key, by user, then as added.
func (s *Store) Keys() ([]paas.Key, error) {
	var keys []paas.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		keys, err = allKeys(tx)
		return err
	})
	return keys, err
}

// KeysOf lists the user's keys, as added. An unknown user is an error
// wrapping paas.ErrUserNotFound.
func (s *Store) KeysOf(user string) ([]paas.Key, error) {
	var keys []paas.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, ok, err := loadUser(tx, user); err != nil {
			return err
		} else if !ok {
			return unknownUser(user)
		}
		all, err := allKeys(tx)
		if err != nil {
			return err
		}
		keys = slices.DeleteFunc(all, func(k paas.Key) bool { return k.User != user })
		return nil
	})
	return keys, err
}

func allKeys(tx *bolt.Tx) ([]paas.Key, error) {
	var keys []paas.Key
	err := tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
		var k paas.Key
		if err := jsonUnmarshal(v, &k); err != nil {
			return err
		}
		keys = append(keys, k)
		return nil
	})
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].User != keys[j].User {
			return keys[i].User < keys[j].User
		}
		return keys[i].AddedAt.Before(keys[j].AddedAt)
	})
	return keys, err
}
