package store

import (
	"slices"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// The domains bucket maps each custom host (normalised, see
// paas.NormalizeDomain) to the app it routes to; App.Domains holds the same
// hosts per app. Both change in the same transaction.

// AddDomain gives host to app. host must be normalised. It fails with a
// *paas.Error when app already has host or another app owns it (the
// message names that app).
func (s *Store) AddDomain(app, host string) (paas.App, error) {
	var out paas.App
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketDomains)
		switch owner := string(b.Get([]byte(host))); {
		case owner == app || slices.Contains(rec.Domains, host):
			return paas.Errorf("%s is already a domain of %s", host, app)
		case owner != "":
			return paas.Errorf("%s is already a domain of app %s", host, owner)
		}
		if err := b.Put([]byte(host), []byte(app)); err != nil {
			return err
		}
		rec.Domains = append(rec.Domains, host)
		slices.Sort(rec.Domains)
		out = rec.App
		return saveApp(tx, rec)
	})
	return out, err
}

// RemoveDomain takes host from app. It fails with a *paas.Error when app
// does not have host.
func (s *Store) RemoveDomain(app, host string) (paas.App, error) {
	var out paas.App
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		i := slices.Index(rec.Domains, host)
		if i < 0 {
			return paas.Errorf("%s is not a domain of %s", host, app)
		}
		rec.Domains = slices.Delete(rec.Domains, i, i+1)
		if len(rec.Domains) == 0 {
			rec.Domains = nil
		}
		b := tx.Bucket(bucketDomains)
		if string(b.Get([]byte(host))) == app {
			if err := b.Delete([]byte(host)); err != nil {
				return err
			}
		}
		out = rec.App
		return saveApp(tx, rec)
	})
	return out, err
}

// DomainOwner returns the app host routes to, if any.
func (s *Store) DomainOwner(host string) (app string, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketDomains).Get([]byte(host)); v != nil {
			app, ok = string(v), true
		}
		return nil
	})
	return app, ok, err
}

// UpdateProxy applies change to the app's router settings and saves them,
// in one transaction; when change fails nothing is saved.
func (s *Store) UpdateProxy(app string, change func(p *paas.ProxySettings) error) (paas.App, error) {
	return s.update(app, func(rec *appRecord) error {
		p := rec.Proxy
		if err := change(&p); err != nil {
			return err
		}
		rec.Proxy = p
		return nil
	})
}

// freeDomains releases every host rec owns, within tx.
// freeDomainsOf frees every custom domain that points to app.
func freeDomainsOf(tx *bolt.Tx, app string) error {
	b := tx.Bucket(bucketDomains)
	var hosts [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if string(v) == app {
			hosts = append(hosts, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if err := b.Delete(h); err != nil {
			return err
		}
	}
	return nil
}

func freeDomains(tx *bolt.Tx, rec *appRecord) error {
	b := tx.Bucket(bucketDomains)
	for _, host := range rec.Domains {
		if string(b.Get([]byte(host))) != rec.Name {
			continue
		}
		if err := b.Delete([]byte(host)); err != nil {
			return err
		}
	}
	return nil
}
