package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"paas"
)

// imageTagger is the engine call a rename tags images with.
type imageTagger interface {
	ImageTag(ctx context.Context, source, target string) error
}

// RenameApp gives app old's build artifacts the name new: its slug and
// cache directories move, and in Docker mode each image paas/OLD:TAG is
// also tagged paas/NEW:TAG (Remove(old) drops the old tags, and the old
// build cache volume, once the rename is kept). Called again with the
// names swapped, it undoes itself.
func (b *Builder) RenameApp(ctx context.Context, old, new string) error {
	for _, n := range []string{old, new} {
		if err := paas.ValidateAppName(n); err != nil {
			return err
		}
	}
	unlock, err := b.lock(ctx, old)
	if err != nil {
		return err
	}
	defer unlock()
	unlockNew, err := b.lock(ctx, new)
	if err != nil {
		return err
	}
	defer unlockNew()
	if b.docker != nil {
		// A build container started ahead mounts old's cache directory,
		// which moves: it goes first.
		b.removeWarm(old)
		if err := b.tagImages(ctx, old, new); err != nil {
			return err
		}
	}
	var moved []string
	for _, root := range []string{b.cfg.SlugsDir, b.cfg.CacheDir} {
		from, to := filepath.Join(root, old), filepath.Join(root, new)
		if err := removeAll(to); err != nil {
			return fmt.Errorf("clearing %s: %w", to, err)
		}
		err := os.Rename(from, to)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			for _, m := range moved {
				_ = os.Rename(filepath.Join(m, new), filepath.Join(m, old))
			}
			return fmt.Errorf("moving the builds of %s: %w", old, err)
		}
		moved = append(moved, root)
	}
	return nil
}

// tagImages tags each image paas/OLD:TAG as paas/NEW:TAG too.
func (b *Builder) tagImages(ctx context.Context, old, new string) error {
	t, ok := b.docker.(imageTagger)
	if !ok {
		return errors.New("builder: the engine client cannot tag images")
	}
	imgs, err := b.docker.ImageList(ctx, image.ListOptions{
		Filters: filters.NewArgs(filters.Arg("reference", "paas/"+old+":*")),
	})
	if err != nil {
		return engineError("listing images", err)
	}
	prefix := "paas/" + old + ":"
	for _, img := range imgs {
		for _, tag := range img.RepoTags {
			rest, ok := strings.CutPrefix(tag, prefix)
			if !ok {
				continue
			}
			if err := t.ImageTag(ctx, tag, "paas/"+new+":"+rest); err != nil {
				return engineError("tagging images", err)
			}
		}
	}
	return nil
}

// RenamedSlug is where artifact slug of app old is once RenameApp gave
// it the name new: the slug directory or image reference of the same
// build under the new name. Any other artifact is returned as it is.
func (b *Builder) RenamedSlug(slug, old, new string) string {
	if rest, ok := strings.CutPrefix(slug, "paas/"+old+":"); ok {
		return "paas/" + new + ":" + rest
	}
	if rest, ok := strings.CutPrefix(slug, filepath.Join(b.cfg.SlugsDir, old)+string(filepath.Separator)); ok {
		return filepath.Join(b.cfg.SlugsDir, new, rest)
	}
	return slug
}
