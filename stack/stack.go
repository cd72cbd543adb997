// Package stack makes the stack image: the Debian root that builds and
// instances of the docker runtime run on. No registry is assumed: a
// minimal root is bootstrapped locally with debootstrap from the host's own
// Debian mirror, the packages are installed in it with its own apt-get,
// the host's CA bundle is put in, and the tree is imported through the
// Docker API. Building needs Linux and root.
package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/docker/docker/client"
)

// Suite is the Debian release the stack is made of.
const Suite = "bookworm"

// DefaultImage is the image name the platform uses when none is configured.
const DefaultImage = "paas/stack:" + Suite

// DefaultMirror is used when the host's apt sources name no mirror for Suite.
const DefaultMirror = "http://deb.debian.org/debian"

// DefaultCABundle is the host's CA bundle on Debian and Ubuntu.
const DefaultCABundle = "/etc/ssl/certs/ca-certificates.crt"

// LabelKey is the image label that marks a stack image; its value is Suite.
const LabelKey = "paas.stack"

// Packages are installed on top of Debian's minbase variant: what the
// built-in buildpacks and typical apps need. Docker's init process (Init:
// true) reaps zombies, so no init is installed.
var Packages = []string{
	"bash", "ca-certificates", "curl", "git", "python3", "python3-venv",
	"nodejs", "npm", "unzip", "xz-utils", "procps",
}

// Options configures Build and Ensure. Only Image is required.
type Options struct {
	// Image is the name the stack is tagged with, e.g. "paas/stack:bookworm".
	Image string
	// Mirror is the Debian mirror URL. Empty: the host's apt sources are
	// read for a mirror of Suite (deb822 *.sources, then the one-line
	// sources.list forms), else DefaultMirror.
	Mirror string
	// WorkDir is where a scratch directory for the root is made and
	// removed afterwards; empty means the system's temporary directory.
	WorkDir string
	// CABundle is the host CA bundle copied into the image; empty means
	// DefaultCABundle, which is skipped with a note when missing.
	CABundle string
	// Out receives progress for the user; nil discards it.
	Out io.Writer
	// Force rebuilds the image even when it exists.
	Force bool
	// Log receives operator logs; nil discards them.
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Exists reports whether image is present in the engine.
func Exists(ctx context.Context, cli *client.Client, image string) (bool, error) {
	_, err := cli.ImageInspect(ctx, image)
	if err == nil {
		return true, nil
	}
	if client.IsErrNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("inspecting image %s: %w", image, err)
}

// ensureMu serialises Ensure so that concurrent first builds make the
// image once.
var ensureMu sync.Mutex

// Ensure builds the image when it is missing, saying so on o.Out first
// ("-----> Stack image paas/stack:bookworm not found: building it (a few
// minutes, once)"). When the image exists it returns at once and writes
// nothing; o.Force is ignored.
func Ensure(ctx context.Context, cli *client.Client, o Options) error {
	o = o.withDefaults()
	ensureMu.Lock()
	defer ensureMu.Unlock()
	ok, err := Exists(ctx, cli, o.Image)
	if err != nil || ok {
		return err
	}
	fmt.Fprintf(o.Out, "-----> Stack image %s not found: building it (a few minutes, once)\n", o.Image)
	return build(ctx, cli, o)
}
