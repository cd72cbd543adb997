package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"paas"
	"paas/stack"
)

// imageLabels are the labels of the image of a build.
func imageLabels(req Request, types map[string]string) map[string]string {
	pt, _ := json.Marshal(types)
	return map[string]string{
		labelApp:          req.App,
		labelBuild:        strconv.Itoa(req.Build),
		labelCommit:       req.Commit,
		labelProcessTypes: string(pt),
	}
}

// commitBase is the container of the stack image a build's tree is
// copied into and committed from, made while the build runs (it is only
// created, never started), and the environment of the image.
type commitBase struct {
	done chan struct{}
	id   string
	env  []string
	err  error
}

// prepareCommit makes, in the background, the container the image of
// st's build will be committed from. The build waits for it with wait
// and removes it with discard, whatever its outcome.
func (b *Builder) prepareCommit(ctx context.Context, st *buildState) *commitBase {
	c := &commitBase{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.id, c.env, c.err = b.createCommitContainer(ctx, st)
	}()
	return c
}

// wait returns the commit container once it is made.
func (c *commitBase) wait() (string, []string, error) {
	<-c.done
	return c.id, c.env, c.err
}

// discard removes the commit container, once it is made.
func (b *Builder) discardCommit(ctx context.Context, app string, c *commitBase) {
	id, _, err := c.wait()
	if err != nil || id == "" {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := b.docker.ContainerRemove(rctx, id, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
		b.log.Error("removing image container", "app", app, "err", err)
	}
}

// createCommitContainer creates a container of the stack image to commit
// st's image from, and returns it with the environment of the image.
func (b *Builder) createCommitContainer(ctx context.Context, st *buildState) (string, []string, error) {
	_, env, err := b.stackConfig(ctx)
	if err != nil {
		return "", nil, err
	}
	commitLabels := map[string]string{labelApp: st.req.App, labelBuild: strconv.Itoa(st.req.Build), labelRole: "commit"}
	if b.cfg.Owner != "" {
		commitLabels[labelOwner] = b.cfg.Owner
	}
	created, err := b.docker.ContainerCreate(ctx, &container.Config{
		Image:  b.cfg.StackImage,
		Labels: commitLabels,
	}, &container.HostConfig{}, nil, nil, "")
	if err != nil {
		return "", nil, engineError("creating the image container", err)
	}
	return created.ID, env, nil
}

// stackConfig inspects the stack image and returns it with the
// environment of the images of builds: the stack's, HOME=/app.
func (b *Builder) stackConfig(ctx context.Context) (image.InspectResponse, []string, error) {
	base, err := b.docker.ImageInspect(ctx, b.cfg.StackImage)
	if err != nil {
		return base, nil, engineError("inspecting the stack image", err)
	}
	if base.Config == nil || base.Config.Labels[stack.LabelUser] != stack.User {
		b.oldStack.Do(func() {
			b.log.Warn("the stack image predates its paas user: builds and apps run as "+stack.User+
				" without a passwd entry; rebuild it with `paasd stack:build --force`", "image", b.cfg.StackImage)
		})
	}
	if base.Config == nil {
		base.Config = &dockerspec.DockerOCIImageConfig{}
	}
	env := []string{"HOME=/app"}
	for _, kv := range base.Config.Env {
		if !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return base, env, nil
}

// buildComment is the comment of the image of req's build.
func buildComment(req Request) string {
	return fmt.Sprintf("build %d of %s", req.Build, req.App)
}

// makeImage makes the image of a compiled build, paas/APP:bN, and
// removes the build dir (the image is the artifact): loaded
// (loadBuildImage) where the engine takes it so, committed otherwise
// (commitImage). base is the commit container prepared for the build, if
// any.
func (b *Builder) makeImage(ctx context.Context, st *buildState, types map[string]string, base *commitBase) (string, error) {
	fmt.Fprintln(st.out, "-----> Making the image")
	ref := imageRef(st.req.App, st.req.Build)
	labels := imageLabels(st.req, types)
	labels[labelUser] = stack.User
	if !b.loads.commitsOnly() {
		insp, err := b.loadBuildImage(ctx, st, ref, labels)
		if err == nil {
			b.loads.state.Store(loadWorks)
			return b.madeImage(ctx, st, ref, &insp)
		}
		if ctx.Err() != nil {
			return "", err
		}
		if b.loads.state.CompareAndSwap(loadUnknown, loadFails) {
			b.log.Warn("the engine does not load build images as a layer on the stack's: they are committed from a container", "err", err)
		} else {
			b.log.Warn("loading the image failed: committing it", "app", st.req.App, "build", st.req.Build, "err", err)
		}
		if base == nil {
			base = b.prepareCommit(ctx, st)
			defer b.discardCommit(ctx, st.req.App, base)
		}
	}
	if err := b.commitImage(ctx, st, ref, labels, base); err != nil {
		return "", err
	}
	return b.madeImage(ctx, st, ref, nil)
}

// madeImage checks the image of st's build (inspected already when insp
// is not nil) and removes the build dir.
func (b *Builder) madeImage(ctx context.Context, st *buildState, ref string, insp *image.InspectResponse) (string, error) {
	var err error
	if insp != nil {
		err = b.checkInspected(ctx, st, ref, *insp)
	} else {
		_, err = b.checkImage(ctx, st, ref)
	}
	if err != nil {
		return "", err
	}
	if err := removeAll(st.slug); err != nil {
		b.log.Error("removing build dir", "dir", st.slug, "err", err)
	}
	return ref, nil
}

// commitImage makes the image of a compiled build: the container of the
// stack image prepared for it (prepareCommit) gets the built tree copied
// to /app, owned by the stack's unprivileged user, and is committed as
// ref, to run as that user (labelUser).
func (b *Builder) commitImage(ctx context.Context, st *buildState, ref string, labels map[string]string, base *commitBase) error {
	id, env, err := base.wait()
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTree(pw, st.slug, "app", stack.UID, stack.GID)) }()
	err = b.docker.CopyToContainer(ctx, id, "/", pr, container.CopyToContainerOptions{})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return engineError("copying the build into the image", err)
	}
	_, err = b.docker.ContainerCommit(ctx, id, container.CommitOptions{
		Reference: ref,
		Comment:   buildComment(st.req),
		Config: &container.Config{
			WorkingDir: "/app",
			User:       stack.User,
			Env:        env,
			Labels:     labels,
		},
	})
	if err != nil {
		return engineError("committing the image", err)
	}
	return nil
}

// checkImage reports the size of image ref and enforces MaxImageSize,
// removing an image that is too large.
func (b *Builder) checkImage(ctx context.Context, st *buildState, ref string) (image.InspectResponse, error) {
	insp, err := b.docker.ImageInspect(ctx, ref)
	if err != nil {
		return insp, engineError("inspecting the image", err)
	}
	return insp, b.checkInspected(ctx, st, ref, insp)
}

// checkInspected is checkImage for an image already inspected.
func (b *Builder) checkInspected(ctx context.Context, st *buildState, ref string, insp image.InspectResponse) error {
	fmt.Fprintf(st.out, "-----> Image %s: %s\n", ref, humanSize(insp.Size))
	if max := b.cfg.MaxImageSize; max > 0 && insp.Size > max {
		if err := b.removeImage(context.WithoutCancel(ctx), ref); err != nil {
			b.log.Error("removing oversized image", "image", ref, "err", err)
		}
		return paas.Errorf("image is %s, larger than the limit of %s (PAAS_MAX_IMAGE_SIZE)", humanSize(insp.Size), humanSize(max))
	}
	return nil
}

// removeImage untags ref, deleting the image when that was its last tag;
// an image that does not exist is no error.
func (b *Builder) removeImage(ctx context.Context, ref string) error {
	_, err := b.docker.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("removing image %s: %w", ref, err)
	}
	return nil
}
