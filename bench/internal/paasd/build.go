package paasd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// buildTimeout bounds one build of paasd.
const buildTimeout = 10 * time.Minute

// build builds a static paasd from ./cmd/paasd (run it from the
// repository root) into dir and returns the binary's path.
func build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "paasd")
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/paasd")
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building paasd: %w\n%s", err, out)
	}
	return bin, nil
}
