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

// addRelease stores r as the app's next release, pending: it becomes
// current only when Activate says it runs.
func addRelease(tx *bolt.Tx, rec *appRecord, r paas.Release) (paas.Release, error) {
	b, err := appBucket(tx, bucketReleases, rec.Name)
	if err != nil {
		return r, err
	}
	rec.LastRelease++
	r.App = rec.Name
	r.Version = rec.LastRelease
	r.Status = paas.StatusPending
	if err := put(b, itob(r.Version), r); err != nil {
		return r, err
	}
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

// Deploy records a finished build and makes a pending release of it with
// a snapshot of the app's config, in one transaction.
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
			Healthchecks: b.Healthchecks,
			CreatedAt:    s.now(),
			CreatedBy:    by,
		})
		return err
	})
	return rel, err
}

// derive makes a pending release from the build of from, with config cfg.
func (s *Store) derive(tx *bolt.Tx, rec *appRecord, from paas.Release, cfg map[string]string, desc, by string) (paas.Release, error) {
	return addRelease(tx, rec, paas.Release{
		Build:        from.Build,
		Commit:       from.Commit,
		Description:  desc,
		Config:       cfg,
		ProcessTypes: from.ProcessTypes,
		Slug:         from.Slug,
		Buildpacks:   from.Buildpacks,
		Port:         from.Port,
		Healthchecks: from.Healthchecks,
		CreatedAt:    s.now(),
		CreatedBy:    by,
	})
}

// ChangeConfig sets and unset config vars. Without a current release the
// change is stored at once and rel is nil; it takes effect at the first
// deploy. Otherwise a pending release of the current build with the
// changed config is returned, and the app's config changes only when that
// release is activated.
func (s *Store) ChangeConfig(app string, set map[string]string, unset []string, by string) (rel *paas.Release, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		rel, err = s.changeConfig(tx, rec, set, unset, by)
		return err
	})
	return rel, err
}

// changeConfig is ChangeConfig within tx.
func (s *Store) changeConfig(tx *bolt.Tx, rec *appRecord, set map[string]string, unset []string, by string) (*paas.Release, error) {
	cfg := maps.Clone(rec.Config)
	for k, v := range set {
		cfg[k] = v
	}
	for _, k := range unset {
		delete(cfg, k)
	}
	if rec.Release == 0 {
		rec.Config = cfg
		return nil, saveApp(tx, rec)
	}
	cur, err := loadRelease(tx, rec.Name, rec.Release)
	if err != nil {
		return nil, fmt.Errorf("reading current release: %w", err)
	}
	r, err := s.derive(tx, rec, cur, cfg, configDescription(set, unset), by)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// Rollback makes a pending release of release target's build and config;
// the vars of the add-ons attached now keep their current values, so that
// a rollback never takes an app off its database.
func (s *Store) Rollback(app string, target int, by string) (paas.Release, error) {
	var rel paas.Release
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		from, err := loadRelease(tx, app, target)
		if err != nil {
			return err
		}
		if from.Pruned {
			return paas.Errorf("cannot roll back to %s: its build was pruned", from.Name())
		}
		cfg := maps.Clone(from.Config)
		if err := keepAddonVars(tx, rec, cfg); err != nil {
			return err
		}
		rel, err = s.derive(tx, rec, from, cfg, "Rollback to "+from.Name(), by)
		return err
	})
	return rel, err
}

// Activate marks release v succeeded and makes it current; the app's
// config becomes the release's.
func (s *Store) Activate(app string, v int) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		r, err := loadRelease(tx, app, v)
		if err != nil {
			return err
		}
		r.Status = paas.StatusSucceeded
		r.Failure = ""
		if err := putRelease(tx, r); err != nil {
			return err
		}
		rec.Release = v
		rec.Config = maps.Clone(r.Config)
		if rec.Config == nil {
			rec.Config = map[string]string{}
		}
		return saveApp(tx, rec)
	})
}

// FailRelease marks release v failed with a reason.
func (s *Store) FailRelease(app string, v int, reason string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		r, err := loadRelease(tx, app, v)
		if err != nil {
			return err
		}
		r.Status = paas.StatusFailed
		r.Failure = reason
		return putRelease(tx, r)
	})
}

// FailPending marks every pending release failed with reason (a deploy
// interrupted by a stop of paasd) and returns them.
func (s *Store) FailPending(reason string) ([]paas.Release, error) {
	return failPendingIn(s, bucketReleases, func(r *paas.Release) bool {
		if r.Status != paas.StatusPending {
			return false
		}
		r.Status, r.Failure = paas.StatusFailed, reason
		return true
	})
}

func putRelease(tx *bolt.Tx, r paas.Release) error {
	b := tx.Bucket(bucketReleases).Bucket([]byte(r.App))
	if b == nil {
		return paas.ErrReleaseNotFound
	}
	r.Pruned = false // derived at read time, never stored
	return put(b, itob(r.Version), r)
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
