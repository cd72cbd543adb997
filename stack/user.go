package stack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"paas"
)

// The unprivileged user of the stack image, as a Heroku dyno's: builds
// and the instances of buildpack apps run as it, and it owns /app. The
// platform names it by number ("1000:1000"), so an image without the
// passwd entry (a stack built before it) still runs them as that user.
const (
	UserName = "paas"
	UID      = 1000
	GID      = 1000
	// User is UID:GID as the engine takes it.
	User = "1000:1000"
)

// LabelUser marks a stack image that has the user; its value is User.
const LabelUser = "paas.stack.user"

// addUser creates the user and its group in the root with the root's own
// groupadd and useradd (chrooted), home /app, and gives it /app.
func addUser(ctx context.Context, root string, out io.Writer) error {
	steps := [][]string{
		{"/usr/sbin/groupadd", "--gid", strconv.Itoa(GID), UserName},
		{"/usr/sbin/useradd", "--uid", strconv.Itoa(UID), "--gid", strconv.Itoa(GID),
			"--home-dir", "/app", "--no-create-home", "--shell", "/bin/bash", UserName},
	}
	for _, argv := range steps {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = aptEnv()
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		tail, err := runSummarised(cmd, out)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("adding the %s user interrupted: %w", UserName, ctx.Err())
			}
			return &paas.Error{Msg: describeFailure(filepath.Base(argv[0]), err, tail), Err: err}
		}
	}
	app := filepath.Join(root, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		return fmt.Errorf("making /app in the stack root: %w", err)
	}
	if err := os.Lchown(app, UID, GID); err != nil {
		return fmt.Errorf("giving /app to the %s user: %w", UserName, err)
	}
	return nil
}
