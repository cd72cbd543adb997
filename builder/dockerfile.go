package builder

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	buildtypes "github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"

	"paas"
	"paas/internal/dockerprobe"
	"paas/shellwords"
)

// buildArgsKey is the config var with which an app hands its config to
// its Dockerfile build as build args.
const buildArgsKey = "PAAS_DOCKERFILE_BUILD_ARGS"

// buildDockerfile builds the tree with its Dockerfile through the engine's
// image build. The process types are the Procfile's, else web running the
// image's own ENTRYPOINT/CMD (an empty command).
func (b *Builder) buildDockerfile(ctx context.Context, st *buildState) (Result, error) {
	fmt.Fprintln(st.out, "-----> Dockerfile app detected")
	types, err := readProcfile(st.root)
	if err != nil {
		return Result{}, err
	}
	if types == nil {
		types = map[string]string{"web": ""}
		fmt.Fprintln(st.out, "       No Procfile: web runs the image's ENTRYPOINT/CMD")
	} else {
		fmt.Fprintf(st.out, "       Procfile declares types -> %s\n", typeList(types))
	}
	// RUN steps are on the build network: guarded from the host, as
	// buildpack builds are.
	net, err := b.ensureBuildNetwork(ctx)
	if err != nil {
		return Result{}, err
	}
	ref := imageRef(st.req.App, st.req.Build)
	opts := buildtypes.ImageBuildOptions{
		NetworkMode: net,
		Tags:        []string{ref},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Memory:      b.cfg.BuildMemory,
		MemorySwap:  b.cfg.BuildMemory,
		Labels:      imageLabels(st.req, types),
	}
	if strings.EqualFold(strings.TrimSpace(st.req.Config[buildArgsKey]), "true") {
		opts.BuildArgs = make(map[string]*string)
		for k, v := range st.req.Config {
			if k != buildArgsKey {
				opts.BuildArgs[k] = &v
			}
		}
		fmt.Fprintf(st.out, "       Build args from config: %s\n", strings.Join(slices.Sorted(maps.Keys(opts.BuildArgs)), ", "))
	}

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTree(pw, st.slug, "", 0, 0)) }()
	resp, err := b.docker.ImageBuild(ctx, pr, opts)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{}, b.cutOff(ctx, engineError("Dockerfile build failed", err))
	}
	defer resp.Body.Close()
	var layers []string
	if err := renderBuildOutput(ctx, resp.Body, st.out, func(id string) { layers = append(layers, id) }); err != nil {
		b.removeUntagged(context.WithoutCancel(ctx), layers)
		return Result{}, b.cutOff(ctx, err)
	}

	insp, err := b.checkImage(ctx, st, ref)
	if err != nil {
		return Result{}, b.cutOff(ctx, err)
	}
	res := Result{Slug: ref, ProcessTypes: types, Buildpacks: []string{"Dockerfile"}}
	if insp.Config != nil {
		res.Port = exposedPort(insp.Config.ExposedPorts)
	}
	if res.Port != 0 {
		fmt.Fprintf(st.out, "       EXPOSE %d: the app listens on PORT=%d\n", res.Port, res.Port)
	}
	if insp.Config != nil && len(insp.Config.Entrypoint) > 0 {
		if err := entrypointArgs(st.out, types); err != nil {
			return Result{}, err
		}
	}
	if err := removeAll(st.slug); err != nil {
		b.log.Error("removing build dir", "dir", st.slug, "err", err)
	}
	return res, nil
}

// entrypointArgs checks that the Procfile commands of an image with an
// ENTRYPOINT split into the arguments the runtime hands it, as it will
// split them (see the runtime's keepEntrypoint), and says so.
func entrypointArgs(out io.Writer, types map[string]string) error {
	declared := false
	for _, t := range slices.Sorted(maps.Keys(types)) {
		if types[t] == "" {
			continue
		}
		declared = true
		if _, err := shellwords.Split(types[t]); err != nil {
			return paas.Errorf("Procfile %s: the image has an ENTRYPOINT, which gets the command as its arguments, and the command cannot be split into words: %v", t, err)
		}
	}
	if declared {
		fmt.Fprintln(out, "       The image has an ENTRYPOINT: Procfile commands and run become its arguments")
	}
	return nil
}

// buildMessage is one message of the engine's image build stream.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Progress    string `json:"progress"`
	ID          string `json:"id"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// layerLine is how the image build stream names the image a step made.
var layerLine = regexp.MustCompile(`^ ---> ([0-9a-f]{12,64})\s*$`)

// renderBuildOutput writes the build's JSON message stream to out as plain
// indented lines; an error message in the stream fails the build with it.
// layer is called with the image of every step.
func renderBuildOutput(ctx context.Context, r io.Reader, out io.Writer, layer func(id string)) error {
	w := indent(tolerant(out))
	defer w.Flush()
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var m buildMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return engineError("reading the Dockerfile build output", err)
		}
		msg := m.Error
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			msg = m.ErrorDetail.Message
		}
		if msg != "" {
			w.Flush()
			return &paas.Error{Msg: "Dockerfile build failed: " + oneLine(msg)}
		}
		switch {
		case m.Stream != "":
			io.WriteString(w, m.Stream)
			for _, line := range strings.Split(m.Stream, "\n") {
				if sub := layerLine.FindStringSubmatch(line); sub != nil && layer != nil {
					layer(sub[1])
				}
			}
		case m.Status != "" && m.Progress == "":
			line := m.Status
			if m.ID != "" {
				line = m.ID + ": " + line
			}
			io.WriteString(w, line+"\n")
		}
	}
}

// exposedPort picks the lowest TCP port of an image's EXPOSE list.
func exposedPort[T ~string, V any](ports map[T]V) int {
	best := 0
	for p := range ports {
		num, proto, _ := strings.Cut(string(p), "/")
		if proto != "" && proto != "tcp" {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 || n > 65535 {
			continue
		}
		if best == 0 || n < best {
			best = n
		}
	}
	return best
}

// removeUntagged removes the images of a failed image build's steps that
// have no tag, so a failed build leaves no dangling images. Images in use
// (a tagged image's parents, the stack) stay.
func (b *Builder) removeUntagged(ctx context.Context, ids []string) {
	for _, id := range slices.Backward(ids) {
		insp, err := b.docker.ImageInspect(ctx, id)
		if err != nil || len(insp.RepoTags) > 0 {
			continue
		}
		if _, err := b.docker.ImageRemove(ctx, insp.ID, image.RemoveOptions{PruneChildren: true}); err != nil {
			b.log.Debug("keeping a layer of a failed build", "image", id, "err", err)
		}
	}
}

// cutOff explains a Dockerfile build that failed: when the engine takes
// no new connection right after, it is going away (a stopping engine
// closes its listener first, then stops the build's step containers:
// see dockerprobe), and the user is told to push again; otherwise err
// stands.
func (b *Builder) cutOff(ctx context.Context, err error) error {
	if ctx.Err() != nil || dockerprobe.Accepts(ctx, b.docker.Dialer()) {
		return err
	}
	return &paas.Error{Msg: msgEngineRestarted, Err: err}
}
