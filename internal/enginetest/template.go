package enginetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// imageDirs are the parts of a data root that hold images: written
// once when a layer or image is made (or atomically replaced), never in
// place, so several engines may share their files.
var imageDirs = []string{"image", "overlay2"}

// Seed gives a daemon that never ran the images of template (see
// ImageTemplate) by hard-linking its image files into the daemon's
// data root: no copy, no docker load.
func (d *Daemon) Seed(template string) error {
	data := filepath.Join(d.Dir, "data")
	if err := os.MkdirAll(data, 0o710); err != nil {
		return err
	}
	for _, sub := range imageDirs {
		out, err := exec.Command("cp", "-a", "--link", "--", filepath.Join(template, sub), data).CombinedOutput()
		if err != nil {
			return fmt.Errorf("linking the image template's %s: %v: %s", sub, err, out)
		}
	}
	return nil
}

// ImageTemplate returns the data root of a stopped engine that holds
// images (copied from the host's engine), made once by an engine of its
// own and kept in the temp dir, named after the images' IDs, for later
// runs. It is never started again: engines Seed from it.
func ImageTemplate(ctx context.Context, images []string) (string, error) {
	h := sha256.New()
	for _, image := range images {
		out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", image).Output()
		if err != nil {
			return "", fmt.Errorf("inspecting %s on the host's engine: %w", image, err)
		}
		h.Write(out)
	}
	final := filepath.Join(os.TempDir(), "paas-engine-images-"+hex.EncodeToString(h.Sum(nil))[:12])
	if _, err := os.Stat(filepath.Join(final, "data", "image")); err == nil {
		return filepath.Join(final, "data"), nil
	}
	dir, err := os.MkdirTemp("", "paas-tpl")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	ns := "paas-tpl-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	eng := filepath.Join(dir, "e")
	if err := os.Mkdir(eng, 0o700); err != nil {
		return "", err
	}
	d, err := New(eng, ns)
	if err != nil {
		return "", err
	}
	if err := d.Start(ctx, false); err != nil {
		return "", errors.Join(err, d.Close())
	}
	for _, image := range images {
		cache, err := StackCache(ctx, image)
		if err == nil {
			err = d.LoadImage(ctx, image, cache)
		}
		if err != nil {
			return "", errors.Join(err, d.Close())
		}
	}
	if err := d.Stop(); err != nil {
		return "", errors.Join(err, d.Close())
	}
	exec.Command("umount", "-R", filepath.Join(eng, "exec")).Run()
	exec.Command("umount", "-R", filepath.Join(eng, "data")).Run()
	// Only the image parts are kept.
	tpl := filepath.Join(dir, "t")
	for _, sub := range imageDirs {
		if err := os.MkdirAll(filepath.Join(tpl, "data"), 0o710); err != nil {
			return "", err
		}
		if err := os.Rename(filepath.Join(eng, "data", sub), filepath.Join(tpl, "data", sub)); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tpl, final); err != nil && !strings.Contains(err.Error(), "exists") && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	return filepath.Join(final, "data"), nil
}
