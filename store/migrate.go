package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// migrateUsers brings a store written before users existed up to date, in
// Open's transaction. Then every key was an admin: each key becomes an
// admin user named after the key's name (paas.UserNameFrom; keys of one
// name share one user). Each app gets an owner: the user its creator's key
// became, or else the first admin by name (any admin may act on it
// anyway).
func migrateUsers(tx *bolt.Tx, now time.Time) error {
	keys := tx.Bucket(bucketKeys)
	users := tx.Bucket(bucketUsers)
	type keyRec struct {
		fp []byte
		k  paas.Key
	}
	var recs []keyRec
	err := keys.ForEach(func(fp, v []byte) error {
		var k paas.Key
		if err := json.Unmarshal(v, &k); err != nil {
			return fmt.Errorf("reading key %s: %w", fp, err)
		}
		recs = append(recs, keyRec{append([]byte(nil), fp...), k})
		return nil
	})
	if err != nil {
		return err
	}
	byKeyName := map[string]string{}
	var admins []string
	for _, r := range recs {
		k := r.k
		name := paas.UserNameFrom(k.Name)
		byKeyName[k.Name] = name
		if users.Get([]byte(name)) == nil {
			created := k.AddedAt
			if created.IsZero() {
				created = now
			}
			u := paas.User{Name: name, Admin: true, CreatedAt: created, CreatedBy: "paasd (upgrade)"}
			if err := put(users, []byte(name), u); err != nil {
				return err
			}
			admins = append(admins, name)
		}
		k.User, k.Admin = name, true
		if err := put(keys, r.fp, k); err != nil {
			return err
		}
	}
	sort.Strings(admins)
	first := ""
	if len(admins) > 0 {
		first = admins[0]
	}
	access := tx.Bucket(bucketAccess)
	var apps []paas.App
	err = tx.Bucket(bucketApps).ForEach(func(_, v []byte) error {
		var rec appRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		apps = append(apps, rec.App)
		return nil
	})
	if err != nil {
		return err
	}
	for _, app := range apps {
		if access.Get([]byte(app.Name)) != nil {
			continue
		}
		owner, ok := byKeyName[app.CreatedBy]
		if !ok {
			owner = first
		}
		if err := saveAccess(tx, app.Name, appAccess{Owner: owner}); err != nil {
			return err
		}
	}
	return nil
}
