package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// RenameOptions says how a rename rewrites what the store keeps for
// other parts of paasd.
type RenameOptions struct {
	// Slug maps a release's or build's artifact (a slug dir, an image)
	// to where it is under the new name; nil keeps it.
	Slug func(string) string
	// BlobPrefix is where the certificate bucket keeps an app's own
	// blobs: BlobPrefix+APP+"/"...; Blob rewrites one blob's data for
	// the new name. Empty BlobPrefix moves none.
	BlobPrefix string
	Blob       func(data []byte) ([]byte, error)
}

// RenameApp gives app old the name new, in one transaction: its record,
// releases, builds, config, formation, custom domains, drains, add-on
// attachments, owner and collaborators, exec user id, certificate blobs,
// and the app its audit entries name. It fails with paas.ErrAppNotFound
// when old does not exist and paas.ErrAppExists when new does.
func (s *Store) RenameApp(old, new string, o RenameOptions) error {
	if o.Slug == nil {
		o.Slug = func(s string) string { return s }
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, old)
		if err != nil {
			return err
		}
		if tx.Bucket(bucketApps).Get([]byte(new)) != nil {
			return paas.ErrAppExists
		}
		rec.Name = new
		if err := saveApp(tx, rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketApps).Delete([]byte(old)); err != nil {
			return err
		}
		if err := moveNested(tx, bucketReleases, old, new, func(v []byte) ([]byte, error) {
			var r paas.Release
			if err := json.Unmarshal(v, &r); err != nil {
				return nil, err
			}
			r.App, r.Slug = new, o.Slug(r.Slug)
			return json.Marshal(r)
		}); err != nil {
			return fmt.Errorf("moving releases: %w", err)
		}
		if err := moveNested(tx, bucketBuilds, old, new, func(v []byte) ([]byte, error) {
			var b paas.Build
			if err := json.Unmarshal(v, &b); err != nil {
				return nil, err
			}
			b.App, b.Slug = new, o.Slug(b.Slug)
			return json.Marshal(b)
		}); err != nil {
			return fmt.Errorf("moving builds: %w", err)
		}
		if err := moveNested(tx, bucketDrains, old, new, nil); err != nil {
			return fmt.Errorf("moving drains: %w", err)
		}
		for _, top := range [][]byte{bucketAccess, bucketExecIDs} {
			if err := moveKey(tx.Bucket(top), old, new); err != nil {
				return err
			}
		}
		if err := renameDomains(tx, rec); err != nil {
			return err
		}
		if err := renameAttachments(tx, old, new); err != nil {
			return err
		}
		if err := renameAudit(tx, old, new); err != nil {
			return err
		}
		if o.BlobPrefix != "" {
			return renameBlobs(tx, o.BlobPrefix+old+"/", o.BlobPrefix+new+"/", o.Blob)
		}
		return nil
	})
}

// moveNested moves top's nested bucket old to new, each value passed
// through rewrite (nil keeps it), its sequence kept.
func moveNested(tx *bolt.Tx, top []byte, old, new string, rewrite func([]byte) ([]byte, error)) error {
	parent := tx.Bucket(top)
	from := parent.Bucket([]byte(old))
	if from == nil {
		return nil
	}
	if parent.Bucket([]byte(new)) != nil {
		if err := parent.DeleteBucket([]byte(new)); err != nil {
			return err
		}
	}
	to, err := parent.CreateBucket([]byte(new))
	if err != nil {
		return err
	}
	if err := from.ForEach(func(k, v []byte) error {
		if rewrite != nil {
			var err error
			if v, err = rewrite(v); err != nil {
				return err
			}
		}
		return to.Put(bytes.Clone(k), bytes.Clone(v))
	}); err != nil {
		return err
	}
	if err := to.SetSequence(from.Sequence()); err != nil {
		return err
	}
	return parent.DeleteBucket([]byte(old))
}

// moveKey moves b's value at old to new.
func moveKey(b *bolt.Bucket, old, new string) error {
	v := b.Get([]byte(old))
	if v == nil {
		return nil
	}
	if err := b.Put([]byte(new), bytes.Clone(v)); err != nil {
		return err
	}
	return b.Delete([]byte(old))
}

// renameDomains points the custom domains of rec (renamed) at its name.
func renameDomains(tx *bolt.Tx, rec *appRecord) error {
	b := tx.Bucket(bucketDomains)
	for _, host := range rec.Domains {
		if err := b.Put([]byte(host), []byte(rec.Name)); err != nil {
			return err
		}
	}
	return nil
}

// renameAttachments renames the app in every add-on's attachments.
func renameAttachments(tx *bolt.Tx, old, new string) error {
	b := tx.Bucket(bucketAddons)
	var changed []*Addon
	err := b.ForEach(func(_, v []byte) error {
		var a Addon
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		if key, ok := a.Attachments[old]; ok {
			delete(a.Attachments, old)
			a.Attachments[new] = key
			changed = append(changed, &a)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range changed {
		if err := saveAddon(tx, a); err != nil {
			return err
		}
	}
	return nil
}

// renameAudit makes the audit entries that name app old name new; the
// command lines stay as they were typed.
func renameAudit(tx *bolt.Tx, old, new string) error {
	b := tx.Bucket(bucketAudit)
	if b == nil {
		return nil
	}
	type change struct{ k, v []byte }
	var changes []change
	err := b.ForEach(func(k, v []byte) error {
		var e paas.AuditEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
		if e.App != old {
			return nil
		}
		e.App = new
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		changes = append(changes, change{bytes.Clone(k), data})
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range changes {
		if err := b.Put(c.k, c.v); err != nil {
			return err
		}
	}
	return nil
}

// renameBlobs moves the certificate blobs under prefix from to prefix
// to, their data passed through rewrite, their modification time kept.
func renameBlobs(tx *bolt.Tx, from, to string, rewrite func([]byte) ([]byte, error)) error {
	b := tx.Bucket(bucketCerts)
	type blob struct{ k, v []byte }
	var moved []blob
	c := b.Cursor()
	p := []byte(from)
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if len(v) < 8 {
			return fmt.Errorf("certificate blob %s: too short", k)
		}
		data := bytes.Clone(v[8:])
		if rewrite != nil {
			var err error
			if data, err = rewrite(data); err != nil {
				return fmt.Errorf("certificate blob %s: %w", k, err)
			}
		}
		moved = append(moved, blob{bytes.Clone(k), append(bytes.Clone(v[:8]), data...)})
	}
	for _, m := range moved {
		if err := b.Delete(m.k); err != nil {
			return err
		}
		if err := b.Put(append([]byte(to), m.k[len(from):]...), m.v); err != nil {
			return err
		}
	}
	return nil
}
