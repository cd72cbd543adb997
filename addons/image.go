package addons

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	buildtypes "github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"paas"
	"paas/stack"
)

// imageInfo is what a service image's labels say.
type imageInfo struct {
	id      string // the image's ID
	version string // LabelVersion, else what versionFile says
	uid     int    // LabelUser
	gid     int
}

// LabelStack, on the images paas builds, is the ID of the stack image
// they were built from.
const LabelStack = "paas.addon.stack"

// imageRef is the image e's services run: DockerConfig.Images's, else
// the one paas builds.
func (d *Docker) imageRef(e *engine) string {
	if ref := d.cfg.Images[e.name]; ref != "" {
		return ref
	}
	return e.image
}

// Image returns the image engineName's new services run, building
// paas's own (its output written to out) when the engine lacks it or it
// was built from another stack image. Engines that are given it (the
// nodes of a test swarm) then run add-ons without building.
func (d *Docker) Image(ctx context.Context, engineName string, out io.Writer) (string, error) {
	e, err := lookup(engineName)
	if err != nil {
		return "", err
	}
	ref, _, err := d.ensureImage(ctx, e, out)
	return ref, err
}

// ensureImage returns the image e's new services run and its labels.
// An image of DockerConfig.Images is checked, never built; paas's own is
// built (output written to out) when the engine lacks it or it was built
// from another stack image than the current one.
func (d *Docker) ensureImage(ctx context.Context, e *engine, out io.Writer) (string, imageInfo, error) {
	if ref := d.cfg.Images[e.name]; ref != "" {
		info, err := d.imageInfo(ctx, ref)
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				return "", imageInfo{}, paas.Errorf("the %s image %s is missing: pull or build it, or unset its setting to use paas's own", e.name, ref)
			}
			return "", imageInfo{}, paas.Errorf("the %s image %s is not a service image: %v", e.name, ref, err)
		}
		if info.engine != e.name {
			return "", imageInfo{}, paas.Errorf("the %s image %s is not a %s service image: its label %s is %q", e.name, ref, e.name, LabelEngine, info.engine)
		}
		return ref, info.imageInfo, nil
	}
	d.imageMu.Lock()
	defer d.imageMu.Unlock()
	stackInsp, err := d.api.ImageInspect(ctx, d.cfg.StackImage)
	if err != nil {
		return "", imageInfo{}, engineError("inspecting the stack image "+d.cfg.StackImage, err)
	}
	info, err := d.imageInfo(ctx, e.image)
	switch {
	case err == nil && info.stack == stackInsp.ID:
		return e.image, info.imageInfo, nil
	case err == nil:
		fmt.Fprintf(out, "-----> %s was built from another stack image: rebuilding it\n", e.image)
	case !cerrdefs.IsNotFound(err):
		return "", imageInfo{}, err
	}
	fmt.Fprintf(out, "-----> Building %s on %s\n", e.image, d.cfg.StackImage)
	// The engine is installed under a temporary tag; its version, read
	// from the result, becomes a label of the image tagged e.image, which
	// is made from it by a second, instant build.
	base := e.image + "-build"
	dockerfile := "FROM " + d.cfg.StackImage + "\nUSER root\nARG SECURITY_MIRROR\nRUN " + securityStep + e.install +
		"\nCOPY run /usr/local/bin/paas-addon-run\n" +
		"CMD [\"/usr/local/bin/paas-addon-run\"]\n"
	mirror := d.cfg.SecurityMirror
	if mirror == "" {
		mirror = stack.DefaultSecurityMirror
	}
	args := map[string]*string{"SECURITY_MIRROR": &mirror}
	// Not from the build cache: the updates are fetched anew.
	if err := d.build(ctx, base, dockerfile, map[string]string{"run": e.run}, map[string]string{LabelEngine: e.name}, args, out); err != nil {
		return "", imageInfo{}, err
	}
	defer func() {
		if _, err := d.api.ImageRemove(context.WithoutCancel(ctx), base, image.RemoveOptions{}); err != nil {
			d.log.Warn("removing a service image's build tag", "image", base, "err", err)
		}
	}()
	files, err := d.readImageFiles(ctx, base, versionFile, userFile)
	if err != nil {
		return "", imageInfo{}, err
	}
	m := e.version.FindStringSubmatch(files[versionFile])
	if m == nil {
		return "", imageInfo{}, fmt.Errorf("image %s: no version in %q", e.image, strings.TrimSpace(files[versionFile]))
	}
	labels := map[string]string{LabelEngine: e.name, LabelVersion: m[1], LabelUser: strings.TrimSpace(files[userFile]), LabelStack: stackInsp.ID}
	if err := d.build(ctx, e.image, "FROM "+base+"\n", nil, labels, nil, out); err != nil {
		return "", imageInfo{}, err
	}
	info, err = d.imageInfo(ctx, e.image)
	if err != nil {
		return "", imageInfo{}, err
	}
	fmt.Fprintf(out, "-----> %s: %s %s\n", e.image, e.name, info.version)
	return e.image, info.imageInfo, nil
}

// userLabel is a LabelUser value.
var userLabel = regexp.MustCompile(`^([0-9]{1,9}):([0-9]{1,9})$`)

// labelledImage is an image's imageInfo and the other labels paas reads.
type labelledImage struct {
	imageInfo
	engine string // LabelEngine
	stack  string // LabelStack
}

// imageInfo returns the labels of image ref. An image without
// LabelVersion (one of DockerConfig.Images) has its version read from its
// versionFile, once per image.
func (d *Docker) imageInfo(ctx context.Context, ref string) (labelledImage, error) {
	insp, err := d.api.ImageInspect(ctx, ref)
	if err != nil {
		return labelledImage{}, err
	}
	var l map[string]string
	if insp.Config != nil {
		l = insp.Config.Labels
	}
	m := userLabel.FindStringSubmatch(l[LabelUser])
	if m == nil {
		return labelledImage{}, fmt.Errorf("image %s lacks the label %s (\"uid:gid\" of the engine's user) of a service image", ref, LabelUser)
	}
	uid, _ := strconv.Atoi(m[1])
	gid, _ := strconv.Atoi(m[2])
	info := labelledImage{imageInfo: imageInfo{id: insp.ID, version: l[LabelVersion], uid: uid, gid: gid}, engine: l[LabelEngine], stack: l[LabelStack]}
	if info.version == "" {
		e, err := lookup(info.engine)
		if err != nil {
			return labelledImage{}, fmt.Errorf("image %s lacks the label %s of a service image", ref, LabelEngine)
		}
		if info.version, err = d.fileVersion(ctx, insp.ID, e); err != nil {
			return labelledImage{}, err
		}
	}
	return info, nil
}

// fileVersion returns the version image id's versionFile says.
func (d *Docker) fileVersion(ctx context.Context, id string, e *engine) (string, error) {
	d.versionMu.Lock()
	defer d.versionMu.Unlock()
	if v, ok := d.versions[id]; ok {
		return v, nil
	}
	s, err := d.readImageFile(ctx, id, versionFile)
	if err != nil {
		return "", err
	}
	m := e.version.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("image %s: no %s version in %s", id, e.name, versionFile)
	}
	if d.versions == nil {
		d.versions = make(map[string]string)
	}
	d.versions[id] = m[1]
	return m[1], nil
}

// build builds dockerfile, with files beside it, as image tag.
func (d *Docker) build(ctx context.Context, tag, dockerfile string, files, labels map[string]string, args map[string]*string, out io.Writer) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name, data string, mode int64) {
		// Writing to a bytes.Buffer does not fail.
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
		_, _ = io.WriteString(tw, data)
	}
	add("Dockerfile", dockerfile, 0o644)
	for name, data := range files {
		add(name, data, 0o755)
	}
	_ = tw.Close()
	opts := buildtypes.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Labels:      labels,
		BuildArgs:   args,
		// Only the builds that install (with arguments) fetch updates:
		// they never reuse a cached step.
		NoCache: args != nil,
	}
	if d.cfg.BuildNetwork != nil {
		net, err := d.cfg.BuildNetwork(ctx)
		if err != nil {
			return err
		}
		opts.NetworkMode = net
	}
	resp, err := d.api.ImageBuild(ctx, &buf, opts)
	if err != nil {
		return engineError("building image "+tag, err)
	}
	defer resp.Body.Close()
	if err := renderBuild(resp.Body, out); err != nil {
		return fmt.Errorf("building image %s: %w", tag, err)
	}
	return nil
}

// buildMessage is one message of the engine's image build stream.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// ansiEscape matches the colour codes the engine puts around a build
// step's standard error.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// renderBuild writes an image build's message stream to out as indented
// lines; an error message in the stream is returned.
func renderBuild(r io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	var line strings.Builder
	flush := func() {
		if line.Len() > 0 {
			fmt.Fprintf(out, "       %s\n", ansiEscape.ReplaceAllString(strings.TrimRight(line.String(), "\r"), ""))
			line.Reset()
		}
	}
	defer flush()
	for {
		var m buildMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the build output: %w", err)
		}
		msg := m.Error
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			msg = m.ErrorDetail.Message
		}
		if msg != "" {
			return errors.New(strings.TrimSpace(msg))
		}
		text := m.Stream
		if text == "" && m.Status != "" {
			text = m.Status + "\n"
		}
		for text != "" {
			before, after, found := strings.Cut(text, "\n")
			line.WriteString(before)
			if !found {
				break
			}
			flush()
			text = after
		}
	}
}

// readImageFiles returns the contents of files of image ref by path.
func (d *Docker) readImageFiles(ctx context.Context, ref string, paths ...string) (map[string]string, error) {
	files := make(map[string]string)
	for _, p := range paths {
		s, err := d.readImageFile(ctx, ref, p)
		if err != nil {
			return nil, err
		}
		files[p] = s
	}
	return files, nil
}

// readImageFile returns the contents of file path of image ref, read from
// a container created (never started) for it.
func (d *Docker) readImageFile(ctx context.Context, ref, path string) (string, error) {
	c, err := d.api.ContainerCreate(ctx, &container.Config{Image: ref, Cmd: []string{"true"}},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		return "", engineError("reading image "+ref, err)
	}
	defer func() {
		if err := d.api.ContainerRemove(context.WithoutCancel(ctx), c.ID, container.RemoveOptions{Force: true}); err != nil {
			d.log.Warn("removing a container", "container", c.ID, "err", err)
		}
	}()
	rc, _, err := d.api.CopyFromContainer(ctx, c.ID, path)
	if err != nil {
		return "", engineError("reading "+path+" of image "+ref, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return "", fmt.Errorf("reading %s of image %s: %w", path, ref, err)
	}
	b, err := io.ReadAll(io.LimitReader(tr, 4096))
	if err != nil {
		return "", fmt.Errorf("reading %s of image %s: %w", path, ref, err)
	}
	return string(b), nil
}
