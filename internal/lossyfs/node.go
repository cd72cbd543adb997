package lossyfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a loopback node whose fsyncs record durable state and whose
// removals keep the removed inode alive in the grave.
type node struct {
	fs.LoopbackNode
	l *FS
}

var (
	_ fs.NodeFsyncer        = (*node)(nil)
	_ fs.NodeOpendirHandler = (*node)(nil)
	_ fs.NodeUnlinker       = (*node)(nil)
	_ fs.NodeRmdirer        = (*node)(nil)
	_ fs.NodeRenamer        = (*node)(nil)
	_ fs.FileReaddirenter   = (*dirHandle)(nil)
	_ fs.FileFsyncdirer     = (*dirHandle)(nil)
	_ fs.FileReleasedirer   = (*dirHandle)(nil)
	_ fs.FileSeekdirer      = (*dirHandle)(nil)
)

// path is the node's path in the backing directory.
func (n *node) path() string {
	return filepath.Join(n.RootData.Path, n.Path(n.Root()))
}

// Fsync makes a file's content, or a directory's entries, durable. It does
// not call fsync on the backing file: durability is what the FS records.
func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if n.StableAttr().Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return fs.ToErrno(n.l.syncDir(n.path()))
	}
	// The handle may be write-only: its content is read through a
	// read-only reopening of the same open file.
	p := n.path()
	if pf, ok := f.(interface{ PassthroughFd() (int, bool) }); ok {
		if fd, ok := pf.PassthroughFd(); ok {
			p = fmt.Sprintf("/proc/self/fd/%d", fd)
		}
	}
	fd, err := syscall.Open(p, syscall.O_RDONLY, 0)
	if err != nil {
		return fs.ToErrno(err)
	}
	defer syscall.Close(fd)
	return fs.ToErrno(n.l.syncFile(fd))
}

// OpendirHandle opens a directory with a handle whose fsyncdir records
// the directory's entries.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ds, errno := fs.NewLoopbackDirStream(n.path())
	if errno != 0 {
		return nil, 0, errno
	}
	return &dirHandle{ds: ds, n: n}, 0, 0
}

// Unlink removes a name, keeping the inode alive in the grave.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(n.path(), name), &st); err != nil {
		return fs.ToErrno(err)
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return syscall.EISDIR
	}
	return fs.ToErrno(n.l.bury(n.path(), name))
}

// Rmdir removes an empty directory, keeping its inode in the grave.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	p := filepath.Join(n.path(), name)
	des, err := os.ReadDir(p)
	if err != nil {
		return fs.ToErrno(err)
	}
	if len(des) > 0 {
		return syscall.ENOTEMPTY
	}
	return fs.ToErrno(n.l.bury(n.path(), name))
}

// Rename moves a name; a name it replaces goes to the grave first.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	if flags != 0 {
		return n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	}
	from := filepath.Join(n.path(), name)
	to := filepath.Join(np.path(), newName)
	var src, dst syscall.Stat_t
	if err := syscall.Lstat(from, &src); err != nil {
		return fs.ToErrno(err)
	}
	if err := syscall.Lstat(to, &dst); err == nil {
		if src.Ino == dst.Ino {
			return 0
		}
		srcDir := src.Mode&syscall.S_IFMT == syscall.S_IFDIR
		dstDir := dst.Mode&syscall.S_IFMT == syscall.S_IFDIR
		switch {
		case dstDir && !srcDir:
			return syscall.EISDIR
		case !dstDir && srcDir:
			return syscall.ENOTDIR
		case dstDir:
			des, err := os.ReadDir(to)
			if err != nil {
				return fs.ToErrno(err)
			}
			if len(des) > 0 {
				return syscall.ENOTEMPTY
			}
		}
		if err := n.l.bury(np.path(), newName); err != nil {
			return fs.ToErrno(err)
		}
	}
	return fs.ToErrno(syscall.Rename(from, to))
}

// dirHandle is an open directory: it lists the backing directory and
// records its entries on fsyncdir.
type dirHandle struct {
	ds fs.DirStream
	n  *node
}

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if r, ok := d.ds.(fs.FileReaddirenter); ok {
		return r.Readdirent(ctx)
	}
	if !d.ds.HasNext() {
		return nil, 0
	}
	e, errno := d.ds.Next()
	return &e, errno
}

func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if s, ok := d.ds.(fs.FileSeekdirer); ok {
		return s.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	if r, ok := d.ds.(fs.FileReleasedirer); ok {
		r.Releasedir(ctx, flags)
		return
	}
	d.ds.Close()
}

func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	return fs.ToErrno(d.n.l.syncDir(d.n.path()))
}
