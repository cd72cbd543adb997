package gateway

import (
	"bytes"
	"io"
)

// enospcText is how git, in the C locale it runs in, says that a write
// failed for want of space (strerror(ENOSPC)).
const enospcText = "No space left on device"

// diskFullWatch passes what git receive-pack writes (to its stderr, or
// to stdout in the side band) on to w, noting whether git said that the
// disk is full while it received the pack: a push that fails so leaves
// git's own lines, which paas follows with its one line. Once hooked
// reports true, what passes is the build's and the app's, which may say
// anything, and is no longer looked at.
type diskFullWatch struct {
	w      io.Writer
	hooked func() bool
	tail   []byte // the end of the last write, for the text split across writes
	seen   bool
}

func (d *diskFullWatch) Write(p []byte) (int, error) {
	if !d.seen && (d.hooked == nil || !d.hooked()) {
		buf := append(d.tail, p...)
		d.seen = bytes.Contains(buf, []byte(enospcText))
		keep := min(len(buf), len(enospcText)-1)
		d.tail = append(d.tail[:0], buf[len(buf)-keep:]...)
	}
	return d.w.Write(p)
}
