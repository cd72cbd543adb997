// Package owner gives directory trees to the unprivileged users that
// pushed code runs as. A root process changing files in a tree that such
// a user can also change must not be led out of it by a symbolic link the
// user swaps in, so every change goes through an os.Root and never
// follows a link.
package owner

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Tree makes uid:gid the owner of dir and of everything in it, without
// following symbolic links (a link itself changes owner). Directories are
// changed after their contents and dir itself last, so the user gets into
// a directory only once nothing below it is left to change.
func Tree(dir string, uid, gid int) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("giving %s to uid %d: %w", dir, uid, err)
	}
	defer root.Close()
	var dirs []string // in walk order: each before what it holds
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		return root.Lchown(p, uid, gid)
	})
	for i := len(dirs) - 1; i >= 0 && err == nil; i-- {
		err = root.Lchown(dirs[i], uid, gid)
	}
	if err != nil {
		return fmt.Errorf("giving %s to uid %d: %w", dir, uid, err)
	}
	return nil
}

// Owns reports whether path (not followed when it is a link) belongs to
// uid.
func Owns(path string, uid int) (bool, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return false, err
	}
	return fileUID(fi) == uid, nil
}

// fileUID is the owner of the file fi describes.
func fileUID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
