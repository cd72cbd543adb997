package paasd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Workspace is a temporary directory holding a fresh build of paasd and
// the directories of the servers started from it.
type Workspace struct {
	Root   string // the temporary directory
	Binary string // paasd, built from ./cmd/paasd
}

// NewWorkspace makes a temporary directory named after prefix and builds
// paasd into it (run it from the repository root).
func NewWorkspace(ctx context.Context, prefix string) (*Workspace, error) {
	root, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, fmt.Errorf("making a temp dir: %w", err)
	}
	// paasd, and a root paasd's apps, must pass through it (not list it).
	if err := os.Chmod(root, 0o711); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("opening %s: %w", root, err)
	}
	bin, err := build(ctx, root)
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	return &Workspace{Root: root, Binary: bin}, nil
}

// Start starts a paasd of the workspace with runtime rt in its own
// directory named after rt, with more settings in env (see Config.Env).
func (w *Workspace) Start(rt string, env ...string) (*Server, error) {
	return Start(Config{Binary: w.Binary, Dir: filepath.Join(w.Root, rt), Runtime: rt, Env: env})
}

// Close removes the workspace's directory.
func (w *Workspace) Close() error { return os.RemoveAll(w.Root) }
