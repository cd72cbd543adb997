package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// appRecord is what the apps bucket holds for one app.
type appRecord struct {
	paas.App
	Config      map[string]string `json:"config"`
	LastBuild   int               `json:"last_build"`
	LastRelease int               `json:"last_release"`
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// damagedApp is the error about an app whose record cannot be decoded:
// one line for the user, saying what to do.
func damagedApp(name string, cause error) error {
	return &paas.Error{
		Msg: DamagedRecordNote(name),
		Err: fmt.Errorf("%w: %w", paas.ErrAppDamaged, cause),
	}
}

// DamagedRecordNote is what is said about an app whose record in the
// store cannot be read.
func DamagedRecordNote(name string) string {
	return fmt.Sprintf("app %s is damaged: its record in paasd's store cannot be read; restore paas.db from a backup, or destroy the app (apps:destroy %s) and push it again", name, name)
}

func loadApp(tx *bolt.Tx, name string) (*appRecord, error) {
	var rec appRecord
	ok, err := get(tx.Bucket(bucketApps), []byte(name), &rec)
	if err != nil {
		return nil, damagedApp(name, err)
	}
	if !ok {
		return nil, paas.ErrAppNotFound
	}
	if rec.Config == nil {
		rec.Config = map[string]string{}
	}
	if rec.Formation == nil {
		rec.Formation = map[string]int{}
	}
	return &rec, nil
}

func saveApp(tx *bolt.Tx, rec *appRecord) error {
	return put(tx.Bucket(bucketApps), []byte(rec.Name), rec)
}

// CreateApp adds a new app, owned by the user by. It fails with
// paas.ErrAppExists when the name is taken.
func (s *Store) CreateApp(name, by string) (paas.App, error) {
	rec := &appRecord{App: paas.App{
		Name:      name,
		CreatedAt: s.now(),
		CreatedBy: by,
		Formation: map[string]int{},
	}, Config: map[string]string{}}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketApps).Get([]byte(name)) != nil {
			return paas.ErrAppExists
		}
		if err := saveAccess(tx, name, appAccess{Owner: by}); err != nil {
			return err
		}
		return saveApp(tx, rec)
	})
	return rec.App, err
}

// App returns one app.
func (s *Store) App(name string) (paas.App, error) {
	var app paas.App
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, name)
		if err != nil {
			return err
		}
		app = rec.App
		return nil
	})
	return app, err
}

// Apps lists every app, sorted by name. An app whose record cannot be
// read is listed with its name and Damaged set, so that one bad record
// hides no other app.
func (s *Store) Apps() ([]paas.App, error) {
	var apps []paas.App
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).ForEach(func(k, v []byte) error {
			var rec appRecord
			if err := json.Unmarshal(v, &rec); err != nil || rec.Name != string(k) {
				apps = append(apps, paas.App{Name: string(k), Damaged: DamagedRecordNote(string(k))})
				return nil
			}
			apps = append(apps, rec.App)
			return nil
		})
	})
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	return apps, err
}

// DeleteApp removes an app with its releases and builds and who has
// access to it, frees its custom domains and detaches it from its add-ons
// (which remain).
func (s *Store) DeleteApp(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, name)
		switch {
		case errors.Is(err, paas.ErrAppDamaged):
			// Its record is unreadable: its domains are found by
			// what they point to.
			if err := freeDomainsOf(tx, name); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if err := freeDomains(tx, rec); err != nil {
				return err
			}
		}
		if err := forgetExecID(tx, name); err != nil {
			return err
		}
		if err := detachApp(tx, name); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAccess).Delete([]byte(name)); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketReleases, bucketBuilds} {
			if tx.Bucket(b).Bucket([]byte(name)) != nil {
				if err := tx.Bucket(b).DeleteBucket([]byte(name)); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bucketApps).Delete([]byte(name))
	})
}

// Config returns a copy of the app's current config.
func (s *Store) Config(app string) (map[string]string, error) {
	var cfg map[string]string
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		cfg = maps.Clone(rec.Config)
		return nil
	})
	return cfg, err
}

// SetFormation sets instance counts for the given process types, leaving
// the others as they are. It creates no release. A type scaled explicitly
// is no longer remembered as stopped.
func (s *Store) SetFormation(app string, counts map[string]int) (paas.App, error) {
	return s.update(app, func(rec *appRecord) error {
		for t, n := range counts {
			rec.Formation[t] = n
			delete(rec.Stopped, t)
		}
		return nil
	})
}

// ReserveBuild allocates the app's next build number.
func (s *Store) ReserveBuild(app string) (int, error) {
	var n int
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		rec.LastBuild++
		n = rec.LastBuild
		return saveApp(tx, rec)
	})
	return n, err
}

// SetLimits sets the resource limits of one process type. It creates no
// release.
func (s *Store) SetLimits(app, typ string, l paas.Limits) (paas.App, error) {
	return s.update(app, func(rec *appRecord) error {
		if rec.Limits == nil {
			rec.Limits = map[string]paas.Limits{}
		}
		if l == (paas.Limits{}) {
			delete(rec.Limits, typ)
		} else {
			rec.Limits[typ] = l
		}
		return nil
	})
}

// update loads app, applies f and saves it, in one transaction.
func (s *Store) update(app string, f func(rec *appRecord) error) (paas.App, error) {
	var out paas.App
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		if err := f(rec); err != nil {
			return err
		}
		out = rec.App
		return saveApp(tx, rec)
	})
	return out, err
}

// SetMaintenance turns the app's maintenance mode on or off.
func (s *Store) SetMaintenance(app string, on bool) (paas.App, error) {
	return s.update(app, func(rec *appRecord) error {
		rec.Maintenance = on
		return nil
	})
}

// SetBuilder sets how the app is built (see paas.ParseBuilder); "" or
// paas.BuilderAuto restores the default.
func (s *Store) SetBuilder(app, builder string) (paas.App, error) {
	if builder == paas.BuilderAuto {
		builder = ""
	}
	return s.update(app, func(rec *appRecord) error {
		rec.Builder = builder
		return nil
	})
}

// SetStopTimeout sets the app's grace period; 0 restores the default.
func (s *Store) SetStopTimeout(app string, d time.Duration) (paas.App, error) {
	return s.update(app, func(rec *appRecord) error {
		rec.StopTimeout = d
		return nil
	})
}

// StopType scales a process type to 0, remembering its count for
// StartType. Stopping a stopped type changes nothing.
func (s *Store) StopType(app, typ string) (paas.App, error) {
	return s.update(app, func(rec *appRecord) error {
		n, ok := rec.Formation[typ]
		if !ok && typ == "web" {
			n = 1
		}
		if n == 0 {
			return nil
		}
		if rec.Stopped == nil {
			rec.Stopped = map[string]int{}
		}
		rec.Stopped[typ] = n
		rec.Formation[typ] = 0
		return nil
	})
}

// StartType restores the count a process type had before StopType.
func (s *Store) StartType(app, typ string) (paas.App, error) {
	return s.update(app, func(rec *appRecord) error {
		n, ok := rec.Stopped[typ]
		if !ok {
			return paas.Errorf("%s is not stopped", typ)
		}
		rec.Formation[typ] = n
		delete(rec.Stopped, typ)
		return nil
	})
}
