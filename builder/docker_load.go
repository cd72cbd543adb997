package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"paas/stack"
)

// imageLoader is the engine call an image is loaded with.
type imageLoader interface {
	ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (image.LoadResponse, error)
}

// How the engine takes a build's image: loaded as one layer on top of
// the stack image's (an engine whose image store keeps layers by their
// content skips the stack's, which the archive does not carry), or, by
// an engine that needs every layer in the archive, committed from a
// container of the stack image the tree is copied into.
const (
	loadUnknown int32 = iota
	loadWorks
	loadFails
)

// loading is the builder's knowledge of whether loading works.
type loading struct{ state atomic.Int32 }

func (l *loading) commitsOnly() bool { return l.state.Load() == loadFails }

// loadBuildImage makes the image of st's build, ref, with labels, by
// loading it (loadImage), and returns it inspected.
func (b *Builder) loadBuildImage(ctx context.Context, st *buildState, ref string, labels map[string]string) (image.InspectResponse, error) {
	base, env, err := b.stackConfig(ctx)
	if err != nil {
		return image.InspectResponse{}, err
	}
	cfg := *base.Config
	cfg.WorkingDir, cfg.User, cfg.Env = "/app", stack.User, env
	cfg.Labels = maps.Clone(base.Config.Labels)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	maps.Copy(cfg.Labels, labels)
	if b.cfg.Owner != "" {
		cfg.Labels[labelOwner] = b.cfg.Owner
	}
	return b.loadImage(ctx, st, base, ref, &cfg, buildComment(st.req))
}

// loadImage makes, and returns inspected, the image of a compiled build
// from st's tree by loading an archive of it, as one layer on the stack
// image base, tagged ref. The layer is written to a file of the build's scratch dir first:
// the archive must give its size before its content.
func (b *Builder) loadImage(ctx context.Context, st *buildState, base image.InspectResponse, ref string, cfg *dockerspec.DockerOCIImageConfig, comment string) (image.InspectResponse, error) {
	var none image.InspectResponse
	l, ok := b.docker.(imageLoader)
	if !ok {
		return none, errors.New("the engine client cannot load images")
	}
	layerPath := filepath.Join(st.work, "layer.tar")
	defer os.Remove(layerPath)
	f, err := os.OpenFile(layerPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return none, fmt.Errorf("making the image layer: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if err := writeTree(io.MultiWriter(f, h), st.slug, "app", stack.UID, stack.GID); err != nil {
		return none, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return none, fmt.Errorf("making the image layer: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return none, fmt.Errorf("making the image layer: %w", err)
	}
	if base.RootFS.Type != "layers" {
		return none, fmt.Errorf("the stack image's root file system is of type %q", base.RootFS.Type)
	}
	diffIDs := append(slices.Clip(base.RootFS.Layers), "sha256:"+hex.EncodeToString(h.Sum(nil)))
	config, err := json.Marshal(imageConfig{
		Architecture: base.Architecture,
		OS:           base.Os,
		Variant:      base.Variant,
		Created:      time.Now().UTC(),
		Comment:      comment,
		Config:       cfg,
		RootFS:       rootFS{Type: "layers", DiffIDs: diffIDs},
	})
	if err != nil {
		return none, fmt.Errorf("making the image config: %w", err)
	}
	sum := sha256.Sum256(config)
	configName := hex.EncodeToString(sum[:]) + ".json"
	// The stack's layers are named, not carried.
	layers := make([]string, len(diffIDs))
	for i := range base.RootFS.Layers {
		layers[i] = fmt.Sprintf("base-%d/layer.tar", i)
	}
	layers[len(layers)-1] = "build/layer.tar"
	manifest, err := json.Marshal([]archiveManifest{{Config: configName, RepoTags: []string{ref}, Layers: layers}})
	if err != nil {
		return none, fmt.Errorf("making the image manifest: %w", err)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := writeEntry(tw, "build/layer.tar", size, f)
		if err == nil {
			err = writeEntry(tw, configName, int64(len(config)), bytes.NewReader(config))
		}
		if err == nil {
			err = writeEntry(tw, "manifest.json", int64(len(manifest)), bytes.NewReader(manifest))
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	resp, err := l.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return none, err
	}
	defer resp.Body.Close()
	if err := loadOutcome(resp.Body); err != nil {
		return none, err
	}
	// An engine may take the archive its own way: the image must be the
	// stack's layers and this one.
	got, err := b.docker.ImageInspect(ctx, ref)
	if err != nil {
		return none, fmt.Errorf("inspecting the loaded image: %w", err)
	}
	if !slices.Equal(got.RootFS.Layers, diffIDs) {
		b.removeImage(context.WithoutCancel(ctx), ref)
		return none, errors.New("the loaded image does not have the layers it was given")
	}
	return got, nil
}

// imageConfig is the part of an image's configuration (the image spec's
// config file) a loaded build image sets.
type imageConfig struct {
	Architecture string                           `json:"architecture"`
	OS           string                           `json:"os"`
	Variant      string                           `json:"variant,omitempty"`
	Created      time.Time                        `json:"created"`
	Comment      string                           `json:"comment,omitempty"`
	Config       *dockerspec.DockerOCIImageConfig `json:"config"`
	RootFS       rootFS                           `json:"rootfs"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// archiveManifest is an entry of an image archive's manifest.json.
type archiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// writeEntry writes a file entry of size bytes read from r.
func writeEntry(tw *tar.Writer, name string, size int64, r io.Reader) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := io.CopyN(tw, r, size)
	return err
}

// loadOutcome reads the engine's answer to a load: a stream of JSON
// messages, of which one may be an error.
func loadOutcome(r io.Reader) error {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the engine's answer: %w", err)
		}
		if m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}
