package store

import (
	"paas"

	bolt "go.etcd.io/bbolt"
)

// PutKey adds or replaces a key, indexed by its fingerprint.
func (s *Store) PutKey(k paas.Key) error {
	if k.AddedAt.IsZero() {
		k.AddedAt = s.now()
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return put(tx.Bucket(bucketKeys), []byte(k.Fingerprint), k)
	})
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

// Keys lists every key.
func (s *Store) Keys() ([]paas.Key, error) {
	var keys []paas.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
			var k paas.Key
			if err := jsonUnmarshal(v, &k); err != nil {
				return err
			}
			keys = append(keys, k)
			return nil
		})
	})
	return keys, err
}
