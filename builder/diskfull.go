package builder

import (
	"syscall"

	"paas"
)

// minFree is the room below which a file system counts as full: a step
// that failed with less than this left most likely failed for want of
// space, whatever it printed.
const minFree = 1 << 20

// noRoom reports whether the file system holding dir has less than
// minFree bytes left for an unprivileged writer.
func noRoom(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Bavail*uint64(st.Bsize) < minFree
}

// diskFullError names a failed build's cause when it is a full disk:
// the build wrote under SlugsDir and CacheDir, and one of them has no
// room left (a compile that failed to write says only that it failed).
// It is called before the failed build's files are removed, which frees
// the room they took. Other errors are returned as they are.
func (b *Builder) diskFullError(err error) error {
	if paas.IsDiskFull(err) || noRoom(b.cfg.SlugsDir) || noRoom(b.cfg.CacheDir) {
		return &paas.Error{Msg: "build failed: " + paas.DiskFull, Err: err}
	}
	return err
}
