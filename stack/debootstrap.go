package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"paas"
)

// unsafeIOConf is a dpkg setting placed in the root while it is made:
// dpkg skips its fsync calls, which dominate the time of an install, and
// which a root that is thrown away on failure does not need.
const unsafeIOConf = "etc/dpkg/dpkg.cfg.d/paas-stack-unsafe-io"

// debootstrap runs bin with args to make root, summarising its output on
// out. When it fails, the returned *paas.Error carries its last lines of
// output and of the debootstrap.log it leaves in root.
func debootstrap(ctx context.Context, bin string, args []string, root string, out io.Writer) error {
	if err := writeReplacing(filepath.Join(root, unsafeIOConf), []byte("force-unsafe-io\n")); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	tail, err := runSummarised(cmd, out)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("debootstrap interrupted: %w", ctx.Err())
	}
	msg := describeFailure("debootstrap", err, tail)
	if log := logTail(filepath.Join(root, "debootstrap", "debootstrap.log"), tailLines); len(log) > 0 {
		msg += "\nend of debootstrap.log:\n  " + strings.Join(log, "\n  ")
	}
	return &paas.Error{Msg: msg, Err: err}
}

// logTail returns the last n non-empty lines of the file at path, nil when
// it does not exist.
func logTail(path string, n int) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return []string{fmt.Sprintf("(reading %s: %v)", path, err)}
		}
		return nil
	}
	r := &ring{max: n}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" {
			r.add(l)
		}
	}
	return r.lines()
}
