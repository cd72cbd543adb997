package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketMeta    = []byte("meta")     // small facts about the platform itself
	bucketExecIDs = []byte("exec-ids") // app -> its number among the exec runtime's user ids
)

var (
	keyRuntime    = []byte("runtime")
	keyExecIDNext = []byte("exec-id-next")
)

// Runtime returns the runtime recorded by SetRuntime: "docker", "exec",
// or "" when none was recorded (a new store, or one written before the
// runtime was recorded).
func (s *Store) Runtime() (string, error) {
	var name string
	err := s.db.View(func(tx *bolt.Tx) error {
		name = string(tx.Bucket(bucketMeta).Get(keyRuntime))
		return nil
	})
	return name, err
}

// SetRuntime records the runtime the platform's instances run on.
func (s *Store) SetRuntime(name string) error {
	if name == "" {
		return fmt.Errorf("recording the runtime: empty name")
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyRuntime, []byte(name))
	})
}

// ExecID returns app's number among the exec runtime's per-app user ids,
// giving it the next unused one on the first call. The number stays the
// app's until DeleteApp; numbers are never given out twice, so a new app
// of a destroyed one's name gets a new number.
func (s *Store) ExecID(app string) (int, error) {
	var id uint64
	found := false
	// Asked at every start: a read, and a write only the first time.
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketExecIDs).Get([]byte(app)); len(v) == 8 {
			id, found = binary.BigEndian.Uint64(v), true
		}
		return nil
	})
	if err != nil || found {
		return int(id), err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketExecIDs)
		if v := ids.Get([]byte(app)); len(v) == 8 {
			id = binary.BigEndian.Uint64(v)
			return nil
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyExecIDNext); len(v) == 8 {
			id = binary.BigEndian.Uint64(v)
		}
		if err := meta.Put(keyExecIDNext, itob(int(id+1))); err != nil {
			return err
		}
		return ids.Put([]byte(app), itob(int(id)))
	})
	if err != nil {
		return 0, fmt.Errorf("numbering %s for the exec runtime: %w", app, err)
	}
	return int(id), nil
}

// forgetExecID drops app's exec id in a DeleteApp transaction.
func forgetExecID(tx *bolt.Tx, app string) error {
	return tx.Bucket(bucketExecIDs).Delete([]byte(app))
}
