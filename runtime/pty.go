package runtime

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// pollable replaces a pseudo-terminal master with a non-blocking duplicate
// that the Go runtime polls, so that closing it interrupts a pending Read
// (the pty package leaves its file in blocking mode). f is closed.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := dupCloexec(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("duplicating terminal: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("duplicating terminal: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// dupCloexec duplicates fd with the close-on-exec flag set.
func dupCloexec(fd int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// setWinsize sets the size of the terminal whose master is f, which
// signals SIGWINCH to the terminal's foreground process group.
func setWinsize(f *os.File, ws WindowSize) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	size := struct{ Rows, Cols, X, Y uint16 }{Rows: ws.Rows, Cols: ws.Cols}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&size)))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
