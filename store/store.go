// Package store keeps every piece of platform state that must survive a
// restart in one bbolt file: apps, their config, formation, builds and
// releases, users and their SSH keys, and who may act on each app. Each
// method is one transaction, so a release and the app's pointer to it
// always move together.
package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"paas/internal/durable"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketApps     = []byte("apps")
	bucketReleases = []byte("releases") // nested: one bucket per app
	bucketBuilds   = []byte("builds")   // nested: one bucket per app
	bucketKeys     = []byte("keys")
	bucketDomains  = []byte("domains") // custom host -> app
	bucketDrains   = []byte("drains")  // nested: one bucket per app
)

// Store is the bbolt-backed state store.
type Store struct {
	db  *bolt.DB
	now func() time.Time
}

// Open opens (creating when missing) the database file at path.
func Open(path string) (*Store, error) {
	if err := durable.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating store directory: %w", err)
	}
	// bbolt fsyncs (fdatasync) every commit, and each one is acknowledged
	// only after: NoSync stays off. The file's name is made durable here,
	// for a store just created.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		// A store written before users existed has no users bucket.
		old := tx.Bucket(bucketUsers) == nil
		for _, b := range [][]byte{bucketApps, bucketReleases, bucketBuilds, bucketKeys, bucketCerts, bucketDomains, bucketDrains, bucketMeta, bucketExecIDs, bucketAddons, bucketUsers, bucketAccess, bucketRemovedKeys, bucketDashSessions} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if old {
			return migrateUsers(tx, time.Now().UTC())
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising store: %w", err)
	}
	return &Store{db: db, now: func() time.Time { return time.Now().UTC() }}, nil
}

// Close closes the database file.
func (s *Store) Close() error { return s.db.Close() }

func itob(n int) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(n))
	return b
}

func put(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func get(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	return true, json.Unmarshal(data, v)
}
