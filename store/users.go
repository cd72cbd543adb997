package store

import (
	"fmt"
	"sort"

	"paas"

	bolt "go.etcd.io/bbolt"
)

var bucketUsers = []byte("users") // user name -> paas.User

func loadUser(tx *bolt.Tx, name string) (paas.User, bool, error) {
	var u paas.User
	ok, err := get(tx.Bucket(bucketUsers), []byte(name), &u)
	if err != nil {
		return u, false, fmt.Errorf("reading user %s: %w", name, err)
	}
	return u, ok, nil
}

func unknownUser(name string) error {
	return &paas.Error{Msg: fmt.Sprintf("unknown user %s", name), Err: paas.ErrUserNotFound}
}

// User returns one user; ok is false when nobody has that name.
func (s *Store) User(name string) (u paas.User, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		u, ok, err = loadUser(tx, name)
		return err
	})
	return u, ok, err
}

// Users lists every user, sorted by name.
func (s *Store) Users() ([]paas.User, error) {
	var users []paas.User
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var u paas.User
			if err := jsonUnmarshal(v, &u); err != nil {
				return err
			}
			users = append(users, u)
			return nil
		})
	})
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	return users, err
}
