// Package durable makes file system changes survive a crash of the
// machine: POSIX makes a file's data durable by fsync of the file, and
// its name (a create, rename or unlink) durable only by fsync of the
// directory that holds it.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SyncDir fsyncs the directory dir, making the entries created, renamed
// or removed in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// MkdirAll is os.MkdirAll whose new directories are durable: the parent
// of each directory it creates is synced.
func MkdirAll(dir string, perm fs.FileMode) error {
	dir = filepath.Clean(dir)
	if info, err := os.Stat(dir); err == nil {
		if !info.IsDir() {
			return fmt.Errorf("creating directory %s: not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating directory %s: %w", dir, err)
	}
	return SyncDir(parent)
}

// WriteFile replaces path with data atomically and durably: it writes a
// temporary file beside it, fsyncs it, renames it over path and fsyncs
// the directory. After a crash path holds either its old or its new
// content, never a part of either.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncTree fsyncs every directory under root (root included), and every
// regular file too when files is true, making the whole tree durable. An
// entry below root that another process removes meanwhile (a concurrent
// push's quarantine directory) is skipped: it is not part of the tree
// any more.
func SyncTree(root string, files bool) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		gone := func(err error) bool { return p != root && errors.Is(err, fs.ErrNotExist) }
		if err != nil {
			if gone(err) {
				return nil
			}
			return fmt.Errorf("syncing %s: %w", p, err)
		}
		switch {
		case d.IsDir():
			if err := SyncDir(p); err != nil {
				if gone(err) {
					return filepath.SkipDir
				}
				return err
			}
		case files && d.Type().IsRegular():
			f, err := os.Open(p)
			if gone(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("syncing %s: %w", p, err)
			}
			err = f.Sync()
			f.Close()
			if err != nil {
				return fmt.Errorf("syncing %s: %w", p, err)
			}
		}
		return nil
	})
}
