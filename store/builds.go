package store

import (
	"encoding/json"
	"fmt"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// StartBuild records build b of app, numbered by ReserveBuild, as
// pending: started by b.By at b.StartedAt (now, when zero).
func (s *Store) StartBuild(app string, b paas.Build) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, err := loadApp(tx, app); err != nil {
			return err
		}
		bb, err := appBucket(tx, bucketBuilds, app)
		if err != nil {
			return err
		}
		b.App = app
		b.Status = paas.StatusPending
		if b.StartedAt.IsZero() {
			b.StartedAt = s.now()
		}
		b.CreatedAt = b.StartedAt
		return put(bb, itob(b.Number), b)
	})
}

// FailBuild records that build n of app failed, for reason.
func (s *Store) FailBuild(app string, n int, reason string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBuilds).Bucket([]byte(app))
		if bb == nil {
			return paas.ErrAppNotFound
		}
		var b paas.Build
		ok, err := get(bb, itob(n), &b)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("build %d of %s: %w", n, app, paas.ErrReleaseNotFound)
		}
		b.Status = paas.StatusFailed
		b.Failure = reason
		b.CreatedAt = s.now()
		return put(bb, itob(n), b)
	})
}

// FailPendingBuilds marks every pending build failed with reason: builds
// a stop of paasd interrupted. It returns them.
func (s *Store) FailPendingBuilds(reason string) ([]paas.Build, error) {
	return failPendingIn(s, bucketBuilds, func(b *paas.Build) bool {
		if b.Status != paas.StatusPending {
			return false
		}
		b.Status, b.Failure, b.CreatedAt = paas.StatusFailed, reason, s.now()
		return true
	})
}

// failPendingIn rewrites, in one transaction, each record of top's app
// buckets that fail changes (a pending one, marked failed), and returns
// the records changed.
func failPendingIn[T any](s *Store, top []byte, fail func(*T) bool) ([]T, error) {
	var failed []T
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(top).ForEachBucket(func(app []byte) error {
			b := tx.Bucket(top).Bucket(app)
			return b.ForEach(func(k, v []byte) error {
				var r T
				if err := json.Unmarshal(v, &r); err != nil {
					// An unreadable record is left as it is: it
					// stops the start of no app.
					return nil
				}
				if !fail(&r) {
					return nil
				}
				failed = append(failed, r)
				return put(b, k, r)
			})
		})
	})
	return failed, err
}

// ListBuilds lists the app's builds, newest first. A record written
// before builds had a status is a succeeded build; its pusher is the
// author of the release that deployed it.
func (s *Store) ListBuilds(app string) ([]paas.Build, error) {
	var out []paas.Build
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := loadApp(tx, app); err != nil {
			return err
		}
		bb := tx.Bucket(bucketBuilds).Bucket([]byte(app))
		if bb == nil {
			return nil
		}
		deployedBy := map[int]string{}
		if rb := tx.Bucket(bucketReleases).Bucket([]byte(app)); rb != nil {
			// The first release of a build is its deploy.
			c := rb.Cursor()
			for k, v := c.Last(); k != nil; k, v = c.Prev() {
				var r paas.Release
				if err := json.Unmarshal(v, &r); err != nil {
					return err
				}
				deployedBy[r.Build] = r.CreatedBy
			}
		}
		c := bb.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var b paas.Build
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
			if b.Status == "" {
				b.Status = paas.StatusSucceeded
			}
			if b.By == "" {
				b.By = deployedBy[b.Number]
			}
			b.App = app
			out = append(out, b)
		}
		return nil
	})
	return out, err
}
