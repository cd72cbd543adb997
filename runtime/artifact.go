package runtime

import (
	"context"
	"errors"
)

// HasArtifact reports whether the slug directory a release runs from is
// there.
func (e *Exec) HasArtifact(ctx context.Context, slug string) (bool, error) {
	_, err := slugHome(slug)
	if errors.Is(err, ErrArtifactMissing) {
		return false, nil
	}
	return err == nil, err
}

// HasArtifact reports whether the image a release runs from is there.
func (d *Docker) HasArtifact(ctx context.Context, image string) (bool, error) {
	_, err := d.imageProfile(ctx, image)
	if errors.Is(err, ErrArtifactMissing) {
		return false, nil
	}
	return err == nil, err
}

// HasArtifact reports whether the local engine has image, the build the
// nodes are given through the registry.
func (s *Swarm) HasArtifact(ctx context.Context, image string) (bool, error) {
	_, err := profileOf(ctx, s.cfg.Local, image)
	if errors.Is(err, ErrArtifactMissing) {
		return false, nil
	}
	return err == nil, err
}
