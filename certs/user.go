package certs

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"paas/store"
)

// userPrefix is where users' certificates live in the store:
// user/APP/ID, ID being a hash of the leaf.
const userPrefix = "user/"

// userRecord is one stored user certificate.
type userRecord struct {
	App  string
	Cert []byte // PEM chain, leaf first
	Key  []byte // PEM private key
}

// userCert is a user certificate ready for handshakes.
type userCert struct {
	key   string // store key
	app   string
	names []string // normalised DNS names of the leaf
	cert  *tls.Certificate
}

// userCerts indexes users' certificates by the names they cover; for a
// name two certificates share, the newer one wins.
type userCerts struct {
	st  *store.Store
	log *slog.Logger

	wmu    sync.Mutex // serialises changes, so reloads land in order
	mu     sync.RWMutex
	byName map[string]*userCert
	all    []*userCert // those that serve at least one name
	// damaged are the stored certificates that cannot be read: they
	// serve nothing and stay until removed (certs:remove APP ID).
	damaged []damagedCert
}

// damagedCert is a stored user certificate that cannot be read.
type damagedCert struct {
	key string // store key
	app string
	id  string // the last part of its key, as certs:remove takes it
}

// note says what is wrong with the certificate and what to do.
func (d damagedCert) note() string {
	return fmt.Sprintf("certificate %s of app %s is damaged in paasd's store and is not served: remove it (certs:remove %s %s) and add it again (certs:add)", d.id, d.app, d.app, d.id)
}

func loadUserCerts(st *store.Store, log *slog.Logger) (*userCerts, error) {
	u := &userCerts{st: st, log: log}
	return u, u.reload()
}

// reload rebuilds the index from the store, oldest first so that newer
// certificates win, and deletes those no name points at any more.
func (u *userCerts) reload() error {
	blobs, err := u.st.CertBlobs(userPrefix)
	if err != nil {
		return err
	}
	slices.SortStableFunc(blobs, func(a, b store.CertBlob) int { return a.Modified.Compare(b.Modified) })
	byName := map[string]*userCert{}
	var loaded []*userCert
	var damaged []damagedCert
	for _, b := range blobs {
		var rec userRecord
		err := json.Unmarshal(b.Data, &rec)
		var c *tls.Certificate
		if err == nil {
			c, err = parseUserCert(rec.Cert, rec.Key)
		}
		if err != nil {
			// One damaged certificate stops no other from loading.
			app, id, _ := strings.Cut(strings.TrimPrefix(b.Key, userPrefix), "/")
			d := damagedCert{key: b.Key, app: app, id: id}
			damaged = append(damaged, d)
			u.log.Error("certificate damaged", "app", app, "key", b.Key, "err", err, "note", d.note())
			continue
		}
		uc := &userCert{key: b.Key, app: rec.App, names: certNames(c), cert: c}
		for _, n := range uc.names {
			byName[n] = uc
		}
		loaded = append(loaded, uc)
	}
	var all []*userCert
	for _, uc := range loaded {
		if slices.ContainsFunc(uc.names, func(n string) bool { return byName[n] == uc }) {
			all = append(all, uc)
			continue
		}
		if err := u.st.DeleteCertBlobs(uc.key); err != nil {
			return err
		}
	}
	u.mu.Lock()
	u.byName, u.all, u.damaged = byName, all, damaged
	u.mu.Unlock()
	return nil
}

// damagedOf lists the app's damaged certificates.
func (u *userCerts) damagedOf(app string) []damagedCert {
	u.mu.RLock()
	defer u.mu.RUnlock()
	var out []damagedCert
	for _, d := range u.damaged {
		if d.app == app {
			out = append(out, d)
		}
	}
	return out
}

// removeDamaged deletes the app's damaged certificate id; false when it
// has none of that id.
func (u *userCerts) removeDamaged(app, id string) (bool, error) {
	i := slices.IndexFunc(u.damagedOf(app), func(d damagedCert) bool { return d.id == id })
	if i < 0 {
		return false, nil
	}
	u.wmu.Lock()
	defer u.wmu.Unlock()
	if err := u.st.DeleteCertBlobs(userPrefix + app + "/" + id); err != nil {
		return false, err
	}
	return true, u.reload()
}

// find returns the certificate serving name (exact, then wildcard).
func (u *userCerts) find(name string) *userCert {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if c := u.byName[name]; c != nil {
		return c
	}
	if _, rest, ok := strings.Cut(name, "."); ok {
		return u.byName["*."+rest]
	}
	return nil
}

// lookup returns the certificate for a handshake to name, when the
// certificate's app is the one name is routed to.
func (u *userCerts) lookup(name string, appFor func(string) (string, bool)) *tls.Certificate {
	c := u.find(name)
	if c == nil {
		return nil
	}
	if appFor != nil {
		if app, ok := appFor(name); !ok || app != c.app {
			return nil
		}
	}
	return c.cert
}

// of lists the app's certificates.
func (u *userCerts) of(app string) []*userCert {
	u.mu.RLock()
	defer u.mu.RUnlock()
	var out []*userCert
	for _, c := range u.all {
		if c.app == app {
			out = append(out, c)
		}
	}
	return out
}

// add stores a certificate for app.
func (u *userCerts) add(app string, certPEM, keyPEM []byte, c *tls.Certificate) error {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	sum := sha256.Sum256(c.Certificate[0])
	data, err := json.Marshal(userRecord{App: app, Cert: certPEM, Key: keyPEM})
	if err != nil {
		return err
	}
	if err := u.st.PutCertBlob(userPrefix+app+"/"+hex.EncodeToString(sum[:12]), data); err != nil {
		return err
	}
	return u.reload()
}

// remove deletes one certificate.
func (u *userCerts) remove(c *userCert) error {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	if err := u.st.DeleteCertBlobs(c.key); err != nil {
		return err
	}
	return u.reload()
}

// apps lists the apps that have certificates stored, sorted.
func (u *userCerts) apps() ([]string, error) {
	keys, err := u.st.CertKeys(userPrefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		app, _, ok := strings.Cut(strings.TrimPrefix(k, userPrefix), "/")
		if ok && app != "" && !slices.Contains(out, app) {
			out = append(out, app)
		}
	}
	slices.Sort(out)
	return out, nil
}

// removeApp deletes every certificate of app and reports how many
// there were.
func (u *userCerts) removeApp(app string) (int, error) {
	if app == "" || strings.Contains(app, "/") {
		return 0, fmt.Errorf("bad app name %q", app)
	}
	u.wmu.Lock()
	defer u.wmu.Unlock()
	keys, err := u.st.CertKeys(userPrefix + app + "/")
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	if err := u.st.DeleteCertBlobs(userPrefix + app); err != nil {
		return 0, err
	}
	return len(keys), u.reload()
}

// parseUserCert reads a PEM chain (leaf first) and its key.
func parseUserCert(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// certNames lists the DNS names a certificate's leaf covers, normalised.
func certNames(c *tls.Certificate) []string {
	var names []string
	for _, n := range c.Leaf.DNSNames {
		n = normalizeName(n)
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}
