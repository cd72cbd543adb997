package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is what widenPipe asks for: the most an unprivileged process
// may set by default.
const pipeSize = 1 << 20

// widenPipe enlarges f to pipeSize when it is a pipe, and does nothing
// otherwise or when the system refuses. With Linux's default 64 KiB pipe,
// OpenSSH's client reads up to 256 KiB from the connection per turn of
// its loop but writes 64 KiB of it: during a burst of `logs -t` its
// buffer fills to the channel window, and moving that buffer for every
// write costs it a whole core while the stream stalls. A pipe as large as
// its reads keeps the buffer empty.
func widenPipe(f *os.File) {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, pipeSize)
}
