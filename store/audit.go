package store

import (
	"encoding/binary"
	"fmt"
	"slices"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// The audit log is a bucket of its own in the one bbolt file, keyed by
// the bucket's sequence (big-endian, so in the order recorded). bbolt
// rather than a file of lines: an entry is one small transaction (well
// under a millisecond on a local disk, fsynced like every other change),
// readers and writers need no locking of their own, the newest N come
// from a cursor without reading the rest, trimming is deleting the
// lowest keys, and the log is backed up with the rest of the state.
var bucketAudit = []byte("audit")

// DefaultAuditKeep is how many audit entries are kept when the operator
// does not say.
const DefaultAuditKeep = 10000

// RecordAudit appends e to the audit log, numbering it (e.Seq is
// ignored), and deletes the oldest entries beyond the newest keep (keep <=
// 0 keeps DefaultAuditKeep). It returns e as stored.
func (s *Store) RecordAudit(e paas.AuditEntry, keep int) (paas.AuditEntry, error) {
	if keep <= 0 {
		keep = DefaultAuditKeep
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAudit)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = seq
		if err := put(b, seqKey(seq), e); err != nil {
			return err
		}
		if seq <= uint64(keep) {
			return nil
		}
		// Keys are deleted from the oldest up to seq-keep: usually one.
		oldest := seq - uint64(keep)
		c := b.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= oldest; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return e, fmt.Errorf("recording an audit entry: %w", err)
	}
	return e, nil
}

// AuditEntries returns the newest n entries of the audit log, oldest
// first (every entry when n <= 0).
func (s *Store) AuditEntries(n int) ([]paas.AuditEntry, error) {
	var out []paas.AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (n <= 0 || len(out) < n); k, v = c.Prev() {
			var e paas.AuditEntry
			if err := jsonUnmarshal(v, &e); err != nil {
				return fmt.Errorf("reading audit entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
