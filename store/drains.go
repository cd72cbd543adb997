package store

import (
	"time"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// The drains bucket holds one nested bucket per app with drains; its keys
// are sequence numbers, so drains list in the order they were added.

// Drain is a log drain as stored: where the app's log stream is sent.
type Drain struct {
	URL   string    `json:"url"`   // as the user gave it, secrets included
	Token string    `json:"token"` // stable identifier sent with every message
	Added time.Time `json:"added"`
}

// AddDrain adds d to app's drains. It fails with paas.ErrAppNotFound for
// an unknown app and with a *paas.Error when app already has d.URL (the
// message leaves the URL out: it may hold a secret).
func (s *Store) AddDrain(app string, d Drain) error {
	if d.Added.IsZero() {
		d.Added = s.now()
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, err := loadApp(tx, app); err != nil {
			return err
		}
		b, err := tx.Bucket(bucketDrains).CreateBucketIfNotExists([]byte(app))
		if err != nil {
			return err
		}
		ds, damaged := appDrains(b)
		for _, old := range ds {
			if old.URL == d.URL {
				return paas.Errorf("%s already has this drain", app)
			}
		}
		// Adding a drain again is how damaged records are mended: they
		// go.
		for _, k := range damaged {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return put(b, itob(int(seq)), d)
	})
}

// RemoveDrain removes the drain with url from app. It fails with a
// *paas.Error when app has no such drain.
func (s *Store) RemoveDrain(app, url string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDrains).Bucket([]byte(app))
		var key []byte
		if b != nil {
			err := b.ForEach(func(k, v []byte) error {
				var d Drain
				if jsonUnmarshal(v, &d) == nil && key == nil && d.URL == url {
					key = append([]byte(nil), k...)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if key == nil {
			return paas.Errorf("%s has no such drain", app)
		}
		if err := b.Delete(key); err != nil {
			return err
		}
		if k, _ := b.Cursor().First(); k == nil {
			return tx.Bucket(bucketDrains).DeleteBucket([]byte(app))
		}
		return nil
	})
}

// Drains returns app's drains in the order they were added; damaged
// records are left out (AllDrains counts them).
func (s *Store) Drains(app string) ([]Drain, error) {
	var out []Drain
	err := s.db.View(func(tx *bolt.Tx) error {
		out, _ = appDrains(tx.Bucket(bucketDrains).Bucket([]byte(app)))
		return nil
	})
	return out, err
}

// AllDrains returns every app's drains, by app, and how many records of
// each app's are damaged (they do not decode): those are left out, so
// that one garbled record costs one drain, not paasd's start.
func (s *Store) AllDrains() (drains map[string][]Drain, damaged map[string]int, err error) {
	drains, damaged = map[string][]Drain{}, map[string]int{}
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDrains).ForEachBucket(func(app []byte) error {
			ds, bad := appDrains(tx.Bucket(bucketDrains).Bucket(app))
			if len(ds) > 0 {
				drains[string(app)] = ds
			}
			if len(bad) > 0 {
				damaged[string(app)] = len(bad)
			}
			return nil
		})
	})
	return drains, damaged, err
}

// DeleteDrains removes every drain of app; none is not an error.
func (s *Store) DeleteDrains(app string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketDrains).Bucket([]byte(app)) == nil {
			return nil
		}
		return tx.Bucket(bucketDrains).DeleteBucket([]byte(app))
	})
}

// appDrains decodes one app's bucket (nil b has no drains), and returns
// the keys of the records that do not decode.
func appDrains(b *bolt.Bucket) (out []Drain, damaged [][]byte) {
	if b == nil {
		return nil, nil
	}
	b.ForEach(func(k, v []byte) error {
		var d Drain
		if err := jsonUnmarshal(v, &d); err != nil {
			damaged = append(damaged, append([]byte(nil), k...))
			return nil
		}
		out = append(out, d)
		return nil
	})
	return out, damaged
}
