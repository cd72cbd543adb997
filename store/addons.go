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

var bucketAddons = []byte("addons") // add-on name -> Addon

// ErrAddonNotFound is returned for an add-on name the store does not know.
var ErrAddonNotFound = errors.New("add-on not found")

// Addon is the stored record of a backing service. Its passwords are
// secrets shown only where config values are shown.
type Addon struct {
	Name    string `json:"name"`
	Engine  string `json:"engine"`
	Version string `json:"version"`
	// Host and Port are where attached apps reach the service; User and
	// Password the credential their URL carries. Records written before
	// they were stored read as the engine's defaults (see addonDefaults).
	Host      string    `json:"host,omitempty"`
	Port      int       `json:"port,omitempty"`
	User      string    `json:"user,omitempty"`
	Password  string    `json:"password"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Attachments maps each attached app to the config var that holds
	// the service's URL.
	Attachments map[string]string `json:"attachments,omitempty"`
	// Rotation is the new credential of a rotation in progress: it may
	// log in (once Added) and is being set on the attached apps; User and
	// Password stay the current one until every app has it.
	Rotation *Credential `json:"rotation,omitempty"`
	// Retiring is the credential a finished rotation replaced, until the
	// service stops accepting it.
	Retiring *Credential `json:"retiring,omitempty"`
}

// Credential is one user and password of a service.
type Credential struct {
	User     string `json:"user"`
	Password string `json:"password"`
	// Added is set once the service accepts it (rotations only).
	Added bool `json:"added,omitempty"`
}

// Passwords lists every password of a: the current one and those of a
// rotation in progress or being retired.
func (a Addon) Passwords() []string {
	var out []string
	if a.Password != "" {
		out = append(out, a.Password)
	}
	for _, c := range []*Credential{a.Rotation, a.Retiring} {
		if c != nil && c.Password != "" {
			out = append(out, c.Password)
		}
	}
	return out
}

// addonDefaults fills in what records written before Host, Port and User
// were stored lack: the service's name as its host, the engine's port and
// first user.
func addonDefaults(a *Addon) {
	if a.Attachments == nil {
		a.Attachments = map[string]string{}
	}
	if a.Host == "" {
		a.Host = a.Name
	}
	switch a.Engine {
	case "postgres":
		if a.Port == 0 {
			a.Port = 5432
		}
		if a.User == "" {
			a.User = "app"
		}
	case "redis":
		if a.Port == 0 {
			a.Port = 6379
		}
		if a.User == "" {
			a.User = "default"
		}
	}
}

func loadAddon(tx *bolt.Tx, name string) (*Addon, error) {
	var a Addon
	ok, err := get(tx.Bucket(bucketAddons), []byte(name), &a)
	if err != nil {
		return nil, fmt.Errorf("reading add-on %s: %w", name, err)
	}
	if !ok {
		return nil, ErrAddonNotFound
	}
	addonDefaults(&a)
	return &a, nil
}

func saveAddon(tx *bolt.Tx, a *Addon) error {
	return put(tx.Bucket(bucketAddons), []byte(a.Name), a)
}

// CreateAddon stores a new add-on, attached to nothing. It fails with a
// *paas.Error when the name is taken.
func (s *Store) CreateAddon(a Addon) (Addon, error) {
	a.CreatedAt = s.now()
	a.Attachments = nil
	addonDefaults(&a)
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAddons).Get([]byte(a.Name)) != nil {
			return paas.Errorf("an add-on named %s already exists", a.Name)
		}
		return saveAddon(tx, &a)
	})
	return a, err
}

// Addon returns one add-on.
func (s *Store) Addon(name string) (Addon, error) {
	var out Addon
	err := s.db.View(func(tx *bolt.Tx) error {
		a, err := loadAddon(tx, name)
		if err != nil {
			return err
		}
		out = *a
		return nil
	})
	return out, err
}

// Addons lists every add-on, sorted by name.
func (s *Store) Addons() ([]Addon, error) {
	var out []Addon
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAddons).ForEach(func(_, v []byte) error {
			var a Addon
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			addonDefaults(&a)
			out = append(out, a)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// UpdateAddon changes add-on name with fn in one transaction and returns
// it as saved; when fn fails, nothing changes. fn may not rename it or
// change its attachments.
func (s *Store) UpdateAddon(name string, fn func(a *Addon) error) (Addon, error) {
	var out Addon
	err := s.db.Update(func(tx *bolt.Tx) error {
		a, err := loadAddon(tx, name)
		if err != nil {
			return err
		}
		attached := maps.Clone(a.Attachments)
		if err := fn(a); err != nil {
			return err
		}
		a.Name, a.Attachments = name, attached
		out = *a
		return saveAddon(tx, a)
	})
	return out, err
}

// AttachAddon records that app reaches add-on name through config var
// key, and sets key=url on the app, in one transaction: without a current
// release the config changes at once and rel is nil; otherwise rel is a
// pending release with the var set (see ChangeConfig). It fails with a
// *paas.Error, changing nothing, when the add-on is already attached to
// app or when app already has key set to anything but url.
func (s *Store) AttachAddon(name, app, key, url, by string) (rel *paas.Release, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		a, err := loadAddon(tx, name)
		if err != nil {
			return err
		}
		if v, ok := a.Attachments[app]; ok {
			return paas.Errorf("%s is already attached to %s as %s", name, app, v)
		}
		rec, err := loadApp(tx, app)
		if err != nil {
			return err
		}
		if v, ok := rec.Config[key]; ok && v != url {
			return paas.Errorf("%s already has %s set: choose another name with --as", app, key)
		}
		a.Attachments[app] = key
		if err := saveAddon(tx, a); err != nil {
			return err
		}
		rel, err = s.changeConfig(tx, rec, map[string]string{key: url}, nil, by)
		return err
	})
	return rel, err
}

// DetachAddon forgets that add-on name is attached to app. It changes no
// config: the var is unset first, by ChangeConfig, so that an interrupted
// detach leaves the add-on recorded as attached rather than an app whose
// config still reaches an add-on believed free.
func (s *Store) DetachAddon(name, app string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		a, err := loadAddon(tx, name)
		if err != nil {
			return err
		}
		if _, ok := a.Attachments[app]; !ok {
			return paas.Errorf("%s is not attached to %s", name, app)
		}
		delete(a.Attachments, app)
		return saveAddon(tx, a)
	})
}

// DeleteAddon removes an add-on's record. It fails with a *paas.Error
// while the add-on is attached.
func (s *Store) DeleteAddon(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		a, err := loadAddon(tx, name)
		if err != nil {
			return err
		}
		if len(a.Attachments) > 0 {
			return paas.Errorf("%s is attached to %d apps", name, len(a.Attachments))
		}
		return tx.Bucket(bucketAddons).Delete([]byte(name))
	})
}

// detachApp removes app from every add-on's attachments, within tx.
func detachApp(tx *bolt.Tx, app string) error {
	b := tx.Bucket(bucketAddons)
	var changed []*Addon
	err := b.ForEach(func(_, v []byte) error {
		var a Addon
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		if _, ok := a.Attachments[app]; ok {
			a.Attachments = maps.Clone(a.Attachments)
			delete(a.Attachments, app)
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

// keepAddonVars sets in cfg the current value of each var through which
// an add-on is attached to rec's app, within tx.
func keepAddonVars(tx *bolt.Tx, rec *appRecord, cfg map[string]string) error {
	return tx.Bucket(bucketAddons).ForEach(func(_, v []byte) error {
		var a Addon
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		key, ok := a.Attachments[rec.Name]
		if !ok {
			return nil
		}
		if cur, set := rec.Config[key]; set {
			cfg[key] = cur
		}
		return nil
	})
}
