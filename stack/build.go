package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/client"

	"paas"
)

// Build makes the stack image o.Image: it bootstraps a minimal Debian root
// with debootstrap, installs Packages in it with its own apt-get, puts the
// host's CA bundle in, cleans apt's caches and imports the tree through the
// engine. When the image exists already it
// says so and returns, unless o.Force is set. Progress goes to o.Out.
func Build(ctx context.Context, cli *client.Client, o Options) error {
	o = o.withDefaults()
	if !o.Force {
		ok, err := Exists(ctx, cli, o.Image)
		if err != nil {
			return err
		}
		if ok {
			fmt.Fprintf(o.Out, "-----> Stack image %s already present\n", o.Image)
			return nil
		}
	}
	return build(ctx, cli, o)
}

// build makes the image without looking for an existing one.
func build(ctx context.Context, cli *client.Client, o Options) (err error) {
	start := time.Now()
	if _, err := reference.ParseNormalizedNamed(o.Image); err != nil {
		return paas.Errorf("invalid stack image name %q: %v", o.Image, err)
	}
	bin, err := exec.LookPath("debootstrap")
	if err != nil {
		return &paas.Error{
			Msg: "building the stack image needs debootstrap, which is not installed: run `apt-get install debootstrap` and try again",
			Err: err,
		}
	}
	mirror := o.Mirror
	if mirror == "" {
		mirror = HostMirror("/etc/apt")
	}
	if err := checkMirror(mirror); err != nil {
		return err
	}

	scratch, err := makeScratch(o.WorkDir)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := removeScratch(scratch); rerr != nil {
			o.Log.Warn("stack scratch directory left behind", "dir", scratch, "err", rerr)
			if err == nil {
				err = rerr
			}
		}
	}()
	root := filepath.Join(scratch, "root")

	fmt.Fprintf(o.Out, "-----> Bootstrapping Debian %s from %s\n", Suite, mirror)
	o.Log.Info("bootstrapping stack", "image", o.Image, "mirror", mirror, "root", root)
	args := []string{"--variant=minbase", Suite, root, mirror}
	if err := debootstrap(ctx, bin, args, root, o.Out); err != nil {
		return err
	}
	// The host's CA bundle goes in before apt runs, for an https mirror
	// behind an intercepting proxy, and again afterwards, since installing
	// ca-certificates regenerates the bundle.
	if err := installCABundle(root, o.CABundle, io.Discard); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "-----> Installing %s\n", strings.Join(Packages, " "))
	if err := installPackages(ctx, root, Packages, o.Out); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "-----> Adding the %s user (%s), owner of /app\n", UserName, User)
	if err := addUser(ctx, root, o.Out); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "-----> Installing the host CA bundle\n")
	if err := installCABundle(root, o.CABundle, o.Out); err != nil {
		return err
	}
	if err := cleanRoot(root); err != nil {
		return err
	}

	fmt.Fprintf(o.Out, "-----> Importing the root as %s\n", o.Image)
	size, err := importRoot(ctx, cli, root, o.Image, o.Out)
	if err != nil {
		return err
	}
	took := time.Since(start).Round(time.Second)
	fmt.Fprintf(o.Out, "-----> Stack image %s ready (%d MB) in %s\n", o.Image, size>>20, took)
	o.Log.Info("stack image built", "image", o.Image, "bytes", size, "took", took)
	return nil
}

// checkMirror accepts the URL forms debootstrap fetches from.
func checkMirror(mirror string) error {
	u, err := url.Parse(mirror)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") || (u.Scheme != "file" && u.Host == "") {
		return paas.Errorf("invalid Debian mirror %q: use an http, https or file URL", mirror)
	}
	return nil
}

// makeScratch creates a fresh directory for the root under workDir and
// returns its absolute, symlink-free path (mount points are compared
// against it when cleaning up).
func makeScratch(workDir string) (string, error) {
	if workDir != "" {
		if err := os.MkdirAll(workDir, 0o700); err != nil {
			return "", fmt.Errorf("creating stack work directory: %w", err)
		}
	}
	dir, err := os.MkdirTemp(workDir, "paas-stack-")
	if err != nil {
		return "", fmt.Errorf("creating stack scratch directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", errors.Join(fmt.Errorf("resolving stack scratch directory: %w", err), os.Remove(dir))
	}
	return abs, nil
}

// removeScratch removes the scratch directory, after detaching anything
// debootstrap left mounted inside it (an interrupted run leaves /proc or
// /sys mounted). It refuses to remove a tree that still has a mount in it.
func removeScratch(dir string) error {
	if err := unmountUnder(dir); err != nil {
		return fmt.Errorf("leaving %s in place: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing stack scratch directory: %w", err)
	}
	return nil
}
