package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Dashboard sessions are kept here so that they outlive a restart of
// paasd or its handover to a successor. A session is stored under a hash
// of its id (the caller's: SHA-256 of the cookie's value), never the id
// itself, so a copy of the store lets nobody into the dashboard.

// bucketDashSessions holds the dashboard's sessions: hash -> DashSession.
var bucketDashSessions = []byte("dash-sessions")

// DashSession is one signed-in dashboard browser.
type DashSession struct {
	// User and Fingerprint are the user and the key the login was
	// minted for.
	User        string    `json:"user"`
	Fingerprint string    `json:"fingerprint"`
	Created     time.Time `json:"created"`
	LastUsed    time.Time `json:"last_used"`
	// Expires is when the session ends unless used again (the caller
	// moves it with TouchDashSession).
	Expires time.Time `json:"expires"`
}

// PutDashSession stores a new session under hash. When the store then
// holds more than limit sessions, the oldest (by Created) go.
func (s *Store) PutDashSession(hash []byte, d DashSession, limit int) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDashSessions)
		if err := put(b, hash, d); err != nil {
			return err
		}
		for {
			n := 0
			var oldest []byte
			var at time.Time
			b.ForEach(func(k, v []byte) error {
				// An unreadable record counts as the oldest.
				var o DashSession
				get(b, k, &o)
				if oldest == nil || o.Created.Before(at) {
					oldest, at = bytes.Clone(k), o.Created
				}
				n++
				return nil
			})
			if n <= limit {
				return nil
			}
			if err := b.Delete(oldest); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return fmt.Errorf("storing a dashboard session: %w", err)
	}
	return nil
}

// DashSession returns the session stored under hash; ok is false when
// there is none.
func (s *Store) DashSession(hash []byte) (d DashSession, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		ok, err = get(tx.Bucket(bucketDashSessions), hash, &d)
		return err
	})
	if err != nil {
		return DashSession{}, false, fmt.Errorf("reading a dashboard session: %w", err)
	}
	return d, ok, nil
}

// TouchDashSession records a use of the session under hash at at, which
// moves its expiry to expires. A session no longer stored stays gone.
func (s *Store) TouchDashSession(hash []byte, at, expires time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDashSessions)
		var d DashSession
		if ok, err := get(b, hash, &d); err != nil || !ok {
			return err
		}
		d.LastUsed, d.Expires = at, expires
		return put(b, hash, d)
	})
	if err != nil {
		return fmt.Errorf("recording a dashboard session's use: %w", err)
	}
	return nil
}

// DeleteDashSession removes the session under hash (a sign-out).
func (s *Store) DeleteDashSession(hash []byte) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDashSessions).Delete(hash)
	})
	if err != nil {
		return fmt.Errorf("removing a dashboard session: %w", err)
	}
	return nil
}

// PruneDashSessions removes the sessions expired at now (and unreadable
// ones) and returns how many went. It reads, and writes only when there
// is one to remove.
func (s *Store) PruneDashSessions(now time.Time) (int, error) {
	expired := func(d DashSession) bool { return !now.Before(d.Expires) }
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = len(dashSessionsWhere(tx.Bucket(bucketDashSessions), expired))
		return nil
	})
	if err == nil && n > 0 {
		err = s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketDashSessions)
			gone := dashSessionsWhere(b, expired)
			n = len(gone)
			return deleteAll(b, gone)
		})
	}
	if err != nil {
		return 0, fmt.Errorf("pruning dashboard sessions: %w", err)
	}
	return n, nil
}

// forgetDashSessionsOf removes, in a transaction removing keys, the
// sessions signed in with any of them.
func forgetDashSessionsOf(tx *bolt.Tx, fingerprints map[string]bool) error {
	b := tx.Bucket(bucketDashSessions)
	return deleteAll(b, dashSessionsWhere(b, func(d DashSession) bool { return fingerprints[d.Fingerprint] }))
}

// dashSessionsWhere returns the keys of the sessions in b for which match
// holds, and of unreadable ones.
func dashSessionsWhere(b *bolt.Bucket, match func(DashSession) bool) [][]byte {
	var keys [][]byte
	b.ForEach(func(k, v []byte) error {
		var d DashSession
		if _, err := get(b, k, &d); err != nil || match(d) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	return keys
}

func deleteAll(b *bolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
