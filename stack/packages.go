package stack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"paas"
)

// aptEnv is the environment apt-get runs with in the root; the host's
// proxy settings are passed on.
func aptEnv() []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive",
	}
	for _, k := range []string{"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// installPackages installs pkgs into the bootstrapped root with the root's
// own apt-get, run chrooted with /proc mounted. apt resolves what
// debootstrap's --include cannot: dependencies on virtual packages, which
// npm's tree in bookworm has.
func installPackages(ctx context.Context, root string, pkgs []string, out io.Writer) (err error) {
	proc := filepath.Join(root, "proc")
	if err := os.MkdirAll(proc, 0o555); err != nil {
		return fmt.Errorf("preparing /proc in the stack root: %w", err)
	}
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc in the stack root: %w", err)
	}
	defer func() {
		if uerr := syscall.Unmount(proc, syscall.MNT_DETACH); uerr != nil && err == nil {
			err = fmt.Errorf("unmounting /proc in the stack root: %w", uerr)
		}
	}()
	steps := [][]string{
		{"/usr/bin/apt-get", "update", "-q"},
		append([]string{"/usr/bin/apt-get", "install", "-y", "-q", "--no-install-recommends"}, pkgs...),
	}
	for _, argv := range steps {
		fmt.Fprintf(out, "       $ apt-get %s\n", strings.Join(argv[1:], " "))
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = aptEnv()
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		tail, err := runSummarised(cmd, out)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("installing the stack packages interrupted: %w", ctx.Err())
			}
			return &paas.Error{Msg: describeFailure("apt-get "+argv[1], err, tail), Err: err}
		}
	}
	return nil
}
