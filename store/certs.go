package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketCerts holds the TLS front door's blobs: certmagic's certificates,
// keys, accounts and challenge tokens, users' certificates and the local
// CA. Keys are slash-separated paths; a value is its modification time
// (8 bytes, Unix nanoseconds) followed by the data.
var bucketCerts = []byte("certs")

// CertBlob is one value of the certificate bucket.
type CertBlob struct {
	Key      string
	Data     []byte
	Modified time.Time
}

// PutCertBlob stores data at key, replacing any value there.
func (s *Store) PutCertBlob(key string, data []byte) error {
	if key == "" {
		return errors.New("storing a certificate blob: empty key")
	}
	v := make([]byte, 8+len(data))
	binary.BigEndian.PutUint64(v, uint64(s.now().UnixNano()))
	copy(v[8:], data)
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCerts).Put([]byte(key), v)
	})
}

// CertBlob returns the value at key; ok is false when there is none.
func (s *Store) CertBlob(key string) (b CertBlob, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCerts).Get([]byte(key))
		if v == nil {
			return nil
		}
		b, err = decodeCertBlob([]byte(key), v)
		ok = err == nil
		return err
	})
	return b, ok, err
}

// CertBlobs returns every value whose key starts with prefix, in key
// order.
func (s *Store) CertBlobs(prefix string) ([]CertBlob, error) {
	var out []CertBlob
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCerts).Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			b, err := decodeCertBlob(k, v)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	return out, err
}

// CertKeys lists the keys starting with prefix, in order, without reading
// their values.
func (s *Store) CertKeys(prefix string) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCerts).Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			out = append(out, string(k))
		}
		return nil
	})
	return out, err
}

// DeleteCertBlobs removes key and every key below it (key + "/..."), in
// one transaction. Removing nothing is not an error.
func (s *Store) DeleteCertBlobs(key string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCerts)
		if err := b.Delete([]byte(key)); err != nil {
			return err
		}
		dir := []byte(strings.TrimSuffix(key, "/") + "/")
		c := b.Cursor()
		for k, _ := c.Seek(dir); k != nil && bytes.HasPrefix(k, dir); k, _ = c.Seek(dir) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

func decodeCertBlob(k, v []byte) (CertBlob, error) {
	if len(v) < 8 {
		return CertBlob{}, fmt.Errorf("certificate blob %q is corrupt", k)
	}
	ns := int64(binary.BigEndian.Uint64(v))
	return CertBlob{
		Key:      string(k),
		Data:     bytes.Clone(v[8:]),
		Modified: time.Unix(0, ns).UTC(),
	}, nil
}
