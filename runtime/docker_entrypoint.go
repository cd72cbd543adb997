package runtime

import (
	"fmt"

	"github.com/docker/docker/api/types/container"

	"paas/shellwords"
)

// keepEntrypoint runs command as the arguments of the image's own
// ENTRYPOINT when the image has one, as Dokku runs a Dockerfile app's
// Procfile commands and one-offs: the command is split into words as a
// shell would split it, without expanding anything, and replaces the
// image's CMD. An image without an ENTRYPOINT, or an empty command, keeps
// the configuration cfg has.
func keepEntrypoint(cfg *container.Config, command string, p imageProfile) error {
	if len(p.entrypoint) == 0 || command == "" {
		return nil
	}
	args, err := shellwords.Split(command)
	if err != nil {
		return fmt.Errorf("command %q cannot be split into arguments for the image's ENTRYPOINT: %w", command, err)
	}
	cfg.Entrypoint = nil
	cfg.Cmd = args
	return nil
}
