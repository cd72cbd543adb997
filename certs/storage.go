package certs

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/caddyserver/certmagic"

	"paas/store"
)

// magicPrefix namespaces certmagic's keys in the store's certificate
// bucket, apart from users' certificates and the local CA.
const magicPrefix = "magic/"

// Storage is certmagic's storage on the store's bbolt file: certificates,
// their keys and metadata, ACME accounts and challenge tokens. Locks are
// held in this process, which is the only one that has the file open.
type Storage struct {
	st *store.Store

	mu    sync.Mutex
	locks map[string]chan struct{} // closed when the lock is released
}

var _ certmagic.Storage = (*Storage)(nil)

// NewStorage returns certmagic's storage on st.
func NewStorage(st *store.Store) *Storage {
	return &Storage{st: st, locks: map[string]chan struct{}{}}
}

// clean turns a certmagic key into a store key: slash-separated, no
// leading or trailing slash, no empty or dot segments.
func clean(key string) string {
	k := strings.Trim(path.Clean("/"+key), "/")
	if k == "." {
		return ""
	}
	return k
}

func storeKey(key string) string { return magicPrefix + clean(key) }

// Store puts value at key.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	if clean(key) == "" {
		return fmt.Errorf("storing %q: empty key", key)
	}
	return s.st.PutCertBlob(storeKey(key), value)
}

// Load returns the value at key, or fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	b, ok, err := s.st.CertBlob(storeKey(key))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("loading %s: %w", key, fs.ErrNotExist)
	}
	return b.Data, nil
}

// Delete removes key and, when key is a directory, every key below it.
func (s *Storage) Delete(ctx context.Context, key string) error {
	k := clean(key)
	if k == "" {
		return s.st.DeleteCertBlobs(strings.TrimSuffix(magicPrefix, "/"))
	}
	return s.st.DeleteCertBlobs(storeKey(k))
}

// Exists reports whether key is a value or a directory of values.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// below returns the store keys below the directory key.
func (s *Storage) below(key string) ([]string, string, error) {
	dir := magicPrefix
	if k := clean(key); k != "" {
		dir = storeKey(k) + "/"
	}
	keys, err := s.st.CertKeys(dir)
	return keys, dir, err
}

// List returns the keys below dir: its direct children (values and
// directories) or, when recursive, every value and directory below it,
// each as a full key. A dir with nothing below it is fs.ErrNotExist.
func (s *Storage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	keys, prefix, err := s.below(dir)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("listing %s: %w", dir, fs.ErrNotExist)
	}
	base := clean(dir)
	join := func(rel string) string {
		if base == "" {
			return rel
		}
		return base + "/" + rel
	}
	seen := map[string]bool{}
	var out []string
	add := func(rel string) {
		if !seen[rel] {
			seen[rel] = true
			out = append(out, join(rel))
		}
	}
	for _, k := range keys {
		rel := strings.TrimPrefix(k, prefix)
		if !recursive {
			first, _, _ := strings.Cut(rel, "/")
			add(first)
			continue
		}
		// Every directory on the way down, then the value itself.
		for i := range len(rel) {
			if rel[i] == '/' {
				add(rel[:i])
			}
		}
		add(rel)
	}
	return out, nil
}

// Stat describes key: a value (terminal) or a directory of values.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	if clean(key) != "" {
		b, ok, err := s.st.CertBlob(storeKey(key))
		if err != nil {
			return certmagic.KeyInfo{}, err
		}
		if ok {
			return certmagic.KeyInfo{Key: key, Modified: b.Modified, Size: int64(len(b.Data)), IsTerminal: true}, nil
		}
	}
	keys, _, err := s.below(key)
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if len(keys) == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("stat %s: %w", key, fs.ErrNotExist)
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// Lock takes the named lock, waiting until it is free or ctx ends.
func (s *Storage) Lock(ctx context.Context, name string) error {
	for {
		s.mu.Lock()
		held, busy := s.locks[name]
		if !busy {
			s.locks[name] = make(chan struct{})
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-held:
		case <-ctx.Done():
			return fmt.Errorf("waiting for lock %s: %w", name, ctx.Err())
		}
	}
}

// Unlock releases the named lock.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	held, ok := s.locks[name]
	if !ok {
		return fmt.Errorf("unlocking %s: not locked", name)
	}
	delete(s.locks, name)
	close(held)
	return nil
}

// String names the storage in certmagic's logs.
func (s *Storage) String() string { return "bbolt" }
