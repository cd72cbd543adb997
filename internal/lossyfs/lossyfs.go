// Package lossyfs is a FUSE file system for tests that loses, on a
// simulated power cut, exactly what POSIX lets a crash lose.
//
// It passes a directory through (every read and write reaches the backing
// directory at once) and remembers the state a crash must leave: a file's
// content as of its last fsync (or fdatasync), and a directory's entries
// (names, and the files and directories they name) as of the directory's
// last fsync. Nothing else is durable: fsync of a file does not make its
// name durable, a rename or unlink is undone unless its directory was
// fsynced afterwards, a file whose name is durable but whose data never
// was comes back empty. Crash rebuilds the backing directory as that
// durable state and mounts it again.
package lossyfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FS is one lossy mount: Dir is where it is mounted.
type FS struct {
	// Dir is the mount point: the directory the code under test uses.
	Dir string

	base   string // private: data (backing tree), grave (unlinked inodes)
	server *fuse.Server

	mu      sync.Mutex
	rootIno uint64
	files   map[uint64]fileState  // backing inode -> content at its last fsync
	dirs    map[uint64][]dirEntry // backing inode -> entries at its last fsync
	graves  int
	syncs   int
	crashes int
}

type fileState struct {
	data []byte
	mode os.FileMode
}

type dirEntry struct {
	name   string
	ino    uint64
	mode   os.FileMode // type and permission bits
	target string      // a symlink's target
}

// Mount makes base (an empty or existing directory the FS owns) the
// backing store and mounts it at dir. Everything already in base counts
// as durable. The caller must Close the FS.
func Mount(base, dir string) (*FS, error) {
	l := &FS{Dir: dir, base: base}
	for _, d := range []string{l.data(), l.grave(), dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := l.snapshotAll(); err != nil {
		return nil, err
	}
	if err := l.mount(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *FS) data() string  { return filepath.Join(l.base, "data") }
func (l *FS) grave() string { return filepath.Join(l.base, "grave") }

func (l *FS) mount() error {
	root := &fs.LoopbackRoot{Path: l.data()}
	var st syscall.Stat_t
	if err := syscall.Stat(root.Path, &st); err != nil {
		return fmt.Errorf("stat %s: %w", root.Path, err)
	}
	root.Dev = uint64(st.Dev)
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &node{LoopbackNode: fs.LoopbackNode{RootData: r}, l: l}
	}
	root.RootNode = root.NewNode(root, nil, "", &st)
	zero := time.Duration(0)
	server, err := fs.Mount(l.Dir, root.RootNode, &fs.Options{
		EntryTimeout: &zero,
		AttrTimeout:  &zero,
		MountOptions: fuse.MountOptions{
			AllowOther:        true,
			FsName:            "lossyfs",
			Name:              "lossyfs",
			DirectMountStrict: true,
		},
	})
	if err != nil {
		return fmt.Errorf("mounting lossyfs at %s: %w", l.Dir, err)
	}
	l.server = server
	return nil
}

// Close unmounts the FS, leaving the backing directory as it is.
func (l *FS) Close() error {
	if l.server == nil {
		return nil
	}
	if err := l.server.Unmount(); err != nil {
		// A process still has a file open: detach the mount so that
		// it goes once the files are closed.
		syscall.Unmount(l.Dir, syscall.MNT_DETACH)
		l.server = nil
		return err
	}
	l.server.Wait()
	l.server = nil
	return nil
}

// Stats says how many fsyncs (of files and directories) the FS has seen
// and how many crashes it has simulated.
func (l *FS) Stats() (syncs, crashes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.syncs, l.crashes
}

// Crash simulates a power cut: it unmounts the FS (every process using it
// must be gone: a crash has no survivors), rebuilds the backing directory
// as its durable state and mounts it again.
func (l *FS) Crash() error {
	if err := l.Close(); err != nil {
		return fmt.Errorf("unmounting %s (is a process still using it?): %w", l.Dir, err)
	}
	rebuilt := filepath.Join(l.base, "rebuilt")
	if err := os.RemoveAll(rebuilt); err != nil {
		return err
	}
	l.mu.Lock()
	err := l.rebuild(rebuilt)
	l.crashes++
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("rebuilding the durable state: %w", err)
	}
	for _, d := range []string{l.data(), l.grave()} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	if err := os.Rename(rebuilt, l.data()); err != nil {
		return err
	}
	if err := os.Mkdir(l.grave(), 0o755); err != nil {
		return err
	}
	if err := l.snapshotAll(); err != nil {
		return err
	}
	return l.mount()
}

// rebuild writes the durable tree into dst.
func (l *FS) rebuild(dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	linked := map[uint64]string{} // file inode -> the path made for it
	seen := map[uint64]bool{l.rootIno: true}
	var walk func(ino uint64, dir string) error
	walk = func(ino uint64, dir string) error {
		for _, e := range l.dirs[ino] {
			p := filepath.Join(dir, e.name)
			switch {
			case e.mode.IsDir():
				if seen[e.ino] {
					// A directory renamed between two directories
					// that were both synced: it is kept in one place.
					continue
				}
				seen[e.ino] = true
				if err := os.Mkdir(p, e.mode.Perm()); err != nil {
					return err
				}
				if err := walk(e.ino, p); err != nil {
					return err
				}
			case e.mode&os.ModeSymlink != 0:
				if err := os.Symlink(e.target, p); err != nil {
					return err
				}
			case e.mode.IsRegular():
				if first, ok := linked[e.ino]; ok {
					if err := os.Link(first, p); err != nil {
						return err
					}
					continue
				}
				f, ok := l.files[e.ino]
				mode := e.mode.Perm()
				if ok {
					mode = f.mode.Perm()
				}
				if err := os.WriteFile(p, f.data, mode); err != nil {
					return err
				}
				if err := os.Chmod(p, mode); err != nil {
					return err
				}
				linked[e.ino] = p
			}
		}
		return nil
	}
	return walk(l.rootIno, dst)
}

// snapshotAll makes the whole backing tree the durable state.
func (l *FS) snapshotAll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.files = map[uint64]fileState{}
	l.dirs = map[uint64][]dirEntry{}
	var st syscall.Stat_t
	if err := syscall.Stat(l.data(), &st); err != nil {
		return err
	}
	l.rootIno = st.Ino
	return filepath.Walk(l.data(), func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			ino, entries, err := readDir(p)
			if err != nil {
				return err
			}
			l.dirs[ino] = entries
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			l.files[info.Sys().(*syscall.Stat_t).Ino] = fileState{data, info.Mode()}
		}
		return nil
	})
}

// readDir returns the inode of the directory p and its entries.
func readDir(p string) (uint64, []dirEntry, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return 0, nil, err
	}
	des, err := os.ReadDir(p)
	if err != nil {
		return 0, nil, err
	}
	entries := make([]dirEntry, 0, len(des))
	for _, de := range des {
		info, err := de.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		e := dirEntry{name: de.Name(), ino: info.Sys().(*syscall.Stat_t).Ino, mode: info.Mode()}
		if info.Mode()&os.ModeSymlink != 0 {
			if e.target, err = os.Readlink(filepath.Join(p, de.Name())); err != nil {
				return 0, nil, err
			}
		}
		entries = append(entries, e)
	}
	return st.Ino, entries, nil
}

// syncDir makes the entries of the directory p durable.
func (l *FS) syncDir(p string) error {
	ino, entries, err := readDir(p)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dirs[ino] = entries
	l.syncs++
	return nil
}

// syncFile makes the content of the open file fd durable.
func (l *FS) syncFile(fd int) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return err
	}
	data := make([]byte, st.Size)
	for off := 0; off < len(data); {
		n, err := syscall.Pread(fd, data[off:], int64(off))
		if err != nil {
			return err
		}
		if n == 0 {
			data = data[:off]
			break
		}
		off += n
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.files[st.Ino] = fileState{data, os.FileMode(st.Mode & 0o7777)}
	l.syncs++
	return nil
}

// bury moves the entry name of the backing directory dir into the grave
// instead of deleting it, so that its inode number is not reused while the
// durable state may still name it.
func (l *FS) bury(dir, name string) error {
	l.mu.Lock()
	l.graves++
	g := filepath.Join(l.grave(), fmt.Sprint(l.graves))
	l.mu.Unlock()
	return os.Rename(filepath.Join(dir, name), g)
}
