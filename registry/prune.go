package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/registry/storage"
	"github.com/distribution/reference"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tags lists the tags of repo (none when it has no image).
func (r *Registry) Tags(ctx context.Context, repo string) ([]string, error) {
	named, err := reference.WithName(repo)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", repo, err)
	}
	r.lock.RLock()
	defer r.lock.RUnlock()
	rep, err := r.ns.Repository(ctx, named)
	if err != nil {
		return nil, fmt.Errorf("opening repository %s: %w", repo, err)
	}
	tags, err := rep.Tags(ctx).All(ctx)
	if errors.As(err, new(distribution.ErrRepositoryUnknown)) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing the tags of %s: %w", repo, err)
	}
	slices.Sort(tags)
	return tags, nil
}

// Delete removes tags of repo, and each manifest no tag names any more
// (an image of a pruned release). Its blobs stay until GC. A tag that
// is not there is not an error.
func (r *Registry) Delete(ctx context.Context, repo string, tags ...string) error {
	named, err := reference.WithName(repo)
	if err != nil {
		return fmt.Errorf("repository %q: %w", repo, err)
	}
	r.lock.Lock()
	defer r.lock.Unlock()
	rep, err := r.ns.Repository(ctx, named)
	if err != nil {
		return fmt.Errorf("opening repository %s: %w", repo, err)
	}
	ts := rep.Tags(ctx)
	manifests, err := rep.Manifests(ctx)
	if err != nil {
		return fmt.Errorf("opening the manifests of %s: %w", repo, err)
	}
	for _, tag := range tags {
		desc, err := ts.Get(ctx, tag)
		if errors.As(err, new(distribution.ErrTagUnknown)) || errors.As(err, new(distribution.ErrRepositoryUnknown)) {
			continue
		}
		if err != nil {
			return fmt.Errorf("looking up %s:%s: %w", repo, tag, err)
		}
		if err := ts.Untag(ctx, tag); err != nil {
			return fmt.Errorf("deleting the tag %s:%s: %w", repo, tag, err)
		}
		left, err := ts.Lookup(ctx, v1.Descriptor{Digest: desc.Digest})
		if err != nil {
			return fmt.Errorf("looking up the tags of %s@%s: %w", repo, desc.Digest, err)
		}
		if len(left) > 0 {
			continue
		}
		if err := manifests.Delete(ctx, desc.Digest); err != nil && !errors.As(err, new(distribution.ErrManifestUnknownRevision)) {
			return fmt.Errorf("deleting the manifest %s@%s: %w", repo, desc.Digest, err)
		}
	}
	return nil
}

// GC removes every blob no manifest refers to (the layers and configs of
// deleted images). It stops the world: requests wait
// while it runs. A push is several requests (its blobs, then the
// manifest naming them), so GC must not run while one is under way: the
// caller runs it from the same place as its pushes, between them.
func (r *Registry) GC(ctx context.Context) error {
	r.lock.Lock()
	defer r.lock.Unlock()
	err := storage.MarkAndSweep(ctx, r.driver, r.ns, storage.GCOpts{Quiet: true})
	if err != nil {
		return fmt.Errorf("collecting the registry's garbage: %w", err)
	}
	return nil
}
