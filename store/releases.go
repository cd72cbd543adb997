package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"paas"

	bolt "go.etcd.io/bbolt"
)

func appBucket(tx *bolt.Tx, top []byte, app string) (*bolt.Bucket, error) {
	return tx.Bucket(top).CreateBucketIfNotExists([]byte(app))
}

// addRelease stores r as the app's next release and makes it current.
func addRelease(tx *bolt.Tx, rec *appRecord, r paas.Release) (paas.Release, error) {
	b, err := appBucket(tx, bucketReleases, rec.Name)
	if err != nil {
		return r, err
	}
	rec.LastRelease++
	r.App = rec.Name
	r.Version = rec.LastRelease
	if err := put(b, itob(r.Version), r); err != nil {
		return r, err
	}
	rec.Release = r.Version
	return r, saveApp(tx, rec)
}

func loadRelease(tx *bolt.Tx, app string, v int) (paas.Release, error) {
	var r paas.Release
	b := tx.Bucket(bucketReleases).Bucket([]byte(app))
	if b == nil {
		return r, paas.ErrReleaseNotFound
	}
	ok, err := get(b, itob(v), &r)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, paas.ErrReleaseNotFound
	}
	r.Pruned = pruned(tx, app, r.Build)
	return r, nil
}

// Deploy records a finished build and makes a new current release of it
// with a snapshot of the app's config, in one transaction.
func (s *Store) Deploy(app string, b paas.Build, by string) (paas.Release, error) {
	var rel paas.Release
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		b.App = app
		b.CreatedAt = s.now()
		bb, err := appBucket(tx, bucketBuilds, app)
		if err != nil {
			return err
		}
		if err := put(bb, itob(b.Number), b); err != nil {
			return err
		}
		rel, err = addRelease(tx, rec, paas.Release{
			Build:        b.Number,
			Commit:       b.Commit,
			Description:  "Deploy " + shortCommit(b.Commit),
			Config:       maps.Clone(rec.Config),
			ProcessTypes: b.ProcessTypes,
			Slug:         b.Slug,
			Buildpacks:   b.Buildpacks,
			Port:         b.Port,
			CreatedAt:    s.now(),
			CreatedBy:    by,
		})
		return err
	})
	return rel, err
}

// MarkPruned records that build n's artifact was removed.
func (s *Store) MarkPruned(app string, n int) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBuilds).Bucket([]byte(app))
		if bb == nil {
			return paas.ErrAppNotFound
		}
		var b paas.Build
		ok, err := get(bb, itob(n), &b)
		if err != nil || !ok {
			return fmt.Errorf("build %d of %s: %w", n, app, errors.Join(err, paas.ErrReleaseNotFound))
		}
		b.Pruned = true
		return put(bb, itob(n), b)
	})
}

// pruned reports whether build n of app has been pruned.
func pruned(tx *bolt.Tx, app string, n int) bool {
	bb := tx.Bucket(bucketBuilds).Bucket([]byte(app))
	if bb == nil {
		return false
	}
	var b paas.Build
	ok, err := get(bb, itob(n), &b)
	return err == nil && ok && b.Pruned
}

// ChangeConfig sets and unsets config vars in one transaction. When the
// app has a current release, a new release is made from its build with the
// new config and returned; otherwise rel is nil and the change takes effect
// at the first deploy.
func (s *Store) ChangeConfig(app string, set map[string]string, unset []string, by string) (rel *paas.Release, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		for k, v := range set {
			rec.Config[k] = v
		}
		for _, k := range unset {
			delete(rec.Config, k)
		}
		if rec.Release == 0 {
			return saveApp(tx, rec)
		}
		cur, err := loadRelease(tx, app, rec.Release)
		if err != nil {
			return fmt.Errorf("reading current release: %w", err)
		}
		r, err := addRelease(tx, rec, paas.Release{
			Build:        cur.Build,
			Commit:       cur.Commit,
			Description:  configDescription(set, unset),
			Config:       maps.Clone(rec.Config),
			ProcessTypes: cur.ProcessTypes,
			Slug:         cur.Slug,
			Buildpacks:   cur.Buildpacks,
			Port:         cur.Port,
			CreatedAt:    s.now(),
			CreatedBy:    by,
		})
		rel = &r
		return err
	})
	return rel, err
}

// Release returns release v of app.
func (s *Store) Release(app string, v int) (paas.Release, error) {
	var r paas.Release
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		r, err = loadRelease(tx, app, v)
		return err
	})
	return r, err
}

// Releases lists the app's releases, newest first.
func (s *Store) Releases(app string) ([]paas.Release, error) {
	var rs []paas.Release
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := loadApp(tx, app); err != nil {
			return err
		}
		b := tx.Bucket(bucketReleases).Bucket([]byte(app))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var r paas.Release
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			r.Pruned = pruned(tx, app, r.Build)
			rs = append(rs, r)
		}
		return nil
	})
	return rs, err
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

func configDescription(set map[string]string, unset []string) string {
	var parts []string
	if len(set) > 0 {
		keys := make([]string, 0, len(set))
		for k := range set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts = append(parts, "Set "+strings.Join(keys, ", "))
	}
	if len(unset) > 0 {
		u := append([]string(nil), unset...)
		sort.Strings(u)
		parts = append(parts, "Unset "+strings.Join(u, ", "))
	}
	return strings.Join(parts, "; ") + " config vars"
}

// SetCurrent points the app at an existing release v, as when a release
// that failed to start leaves the previous one running.
func (s *Store) SetCurrent(app string, v int) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		if v != 0 {
			if _, err := loadRelease(tx, app, v); err != nil {
				return err
			}
		}
		rec.Release = v
		return saveApp(tx, rec)
	})
}
