package runtime

import (
	"fmt"
	"os"
	"syscall"

	"github.com/creack/pty"

	"paas/internal/owner"
)

// credential returns the user and groups app's processes run as (nil:
// this process's own) and makes sure that user owns the slug at home. A
// slug built before its app had a user of its own belongs to root; the
// directory is first closed to everyone else, then given away from the
// bottom up, so no process of the user is ever inside while it changes.
func (e *Exec) credential(app, home string) (*syscall.Credential, error) {
	if e.cfg.Credential == nil {
		return nil, nil
	}
	cred, err := e.cfg.Credential(app)
	if err != nil {
		return nil, err
	}
	if cred == nil {
		return nil, nil
	}
	mine, err := owner.Owns(home, int(cred.Uid))
	if err != nil {
		return nil, fmt.Errorf("checking the slug's owner: %w", err)
	}
	if !mine {
		if err := os.Chmod(home, 0o700); err != nil {
			return nil, fmt.Errorf("closing the slug: %w", err)
		}
		if err := owner.Tree(home, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
		e.log.Info("slug given to the app's user", "app", app, "slug", home, "uid", cred.Uid)
	}
	return cred, nil
}

// openTTY opens a new pseudo-terminal of the given size whose terminal
// side belongs to cred's user (this process's user when nil), as a login
// would arrange it: the process may then reopen it by name.
func openTTY(size WindowSize, cred *syscall.Credential) (ptmx, tty *os.File, err error) {
	ptmx, tty, err = pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("opening a terminal: %w", err)
	}
	fail := func(err error) (*os.File, *os.File, error) {
		ptmx.Close()
		tty.Close()
		return nil, nil, err
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: size.Rows, Cols: size.Cols}); err != nil {
		return fail(fmt.Errorf("sizing the terminal: %w", err))
	}
	if cred != nil {
		if err := tty.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(fmt.Errorf("giving the terminal to uid %d: %w", cred.Uid, err))
		}
	}
	return ptmx, tty, nil
}
