package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"paas"
	"paas/buildpacks"
)

// buildpack is one buildpack a build runs.
type buildpack struct {
	ref  string // what the result records: a built-in name or the entry as given, a token in its URL masked
	dir  string // holds bin/detect, bin/compile, bin/release
	name string // what bin/detect printed
}

// noBuildpack is the message of a build no built-in buildpack detects.
const noBuildpack = "no buildpack detected: looked for go.mod (Go), package.json (Node.js), " +
	"requirements.txt, pyproject.toml or *.py with a Procfile (Python), index.html or public/ (static), Procfile, Dockerfile"

// errDockerfile says the tree is to be built from its Dockerfile.
var errDockerfile = errors.New("build with the Dockerfile")

// selectBuildpacks picks the buildpacks of a build: BUILDPACK_URL from the
// app's config, else the tree's .buildpacks file, else the first built-in
// buildpack whose bin/detect passes. A tree with a Dockerfile is built from
// it (errDockerfile) unless buildpacks are named, as on Dokku; the app's
// builder setting (builder:set) overrides the choice. Custom buildpacks are
// fetched into work and must pass their own bin/detect when they have one.
func (b *Builder) selectBuildpacks(ctx context.Context, st *buildState) ([]buildpack, error) {
	mode, err := paas.ParseBuilder(st.req.Builder)
	if err != nil {
		return nil, err
	}
	dockerfile := hasDockerfile(st)
	if mode == paas.BuilderDockerfile {
		if !dockerfile {
			return nil, paas.Errorf("the app's builder is dockerfile, but the tree has no Dockerfile at its root (builder:set APP auto chooses by the tree)")
		}
		if b.docker == nil {
			return nil, paas.Errorf("Dockerfile apps need the docker runtime: this server builds without Docker")
		}
		return nil, errDockerfile
	}

	var refs []buildpacks.Ref
	if v := strings.TrimSpace(st.req.Config["BUILDPACK_URL"]); v != "" {
		ref, err := b.buildpackURL(v)
		if err != nil {
			return nil, err
		}
		refs = []buildpacks.Ref{ref}
	} else {
		data, err := st.root.ReadFile(".buildpacks")
		switch {
		case err == nil:
			if refs, err = buildpacks.ParseBuildpacksFile(data, b.cfg.BuildpackPaths); err != nil {
				return nil, err
			}
			if len(refs) == 0 {
				return nil, paas.Errorf(".buildpacks names no buildpack")
			}
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, &paas.Error{Msg: "cannot read .buildpacks", Err: err}
		}
	}

	if refs == nil {
		fallback := dockerfile && mode == paas.BuilderAuto
		if fallback && b.docker != nil {
			return nil, errDockerfile
		}
		var candidates []buildpack
		for _, name := range buildpacks.Builtin() {
			if name == "procfile" && fallback {
				// A bare Procfile names the Dockerfile build's
				// process types: its commands need the image.
				break
			}
			candidates = append(candidates, buildpack{ref: name, dir: filepath.Join(b.cfg.BuildpacksDir, name)})
		}
		bp, ok, err := b.detectFirst(ctx, st, candidates)
		if err != nil {
			return nil, err
		}
		if ok {
			if fallback {
				fmt.Fprintln(st.out, " !     This server runs apps without Docker and cannot build the Dockerfile: building with buildpacks instead")
			}
			fmt.Fprintf(st.out, "-----> %s app detected\n", bp.name)
			return []buildpack{bp}, nil
		}
		if fallback {
			return nil, paas.Errorf("Dockerfile apps need the docker runtime: this server builds without Docker")
		}
		return nil, paas.Errorf("%s", noBuildpack)
	}

	var list []buildpack
	for i, ref := range refs {
		bp, err := b.fetch(ctx, st, ref, filepath.Join(st.work, "buildpacks", strconv.Itoa(i)))
		if err != nil {
			return nil, err
		}
		ok, err := b.detect(ctx, st, &bp)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, paas.Errorf("buildpack %s does not apply to this app: its bin/detect failed", bp.ref)
		}
		fmt.Fprintf(st.out, "-----> %s app detected\n", bp.name)
		list = append(list, bp)
	}
	return list, nil
}

// CheckConfig refuses config vars no build could use: a BUILDPACK_URL
// that names no allowed buildpack, with the line a build would print.
func (b *Builder) CheckConfig(set map[string]string) error {
	if v, ok := set["BUILDPACK_URL"]; ok && strings.TrimSpace(v) != "" {
		_, err := b.buildpackURL(strings.TrimSpace(v))
		return err
	}
	return nil
}

// buildpackURL parses the BUILDPACK_URL config var.
func (b *Builder) buildpackURL(v string) (buildpacks.Ref, error) {
	ref, err := buildpacks.ParseRef(v, b.cfg.BuildpackPaths)
	if err != nil {
		msg, _ := paas.UserMessage(err)
		return buildpacks.Ref{}, paas.Errorf("BUILDPACK_URL: %s", msg)
	}
	return ref, nil
}

// detect runs bp's bin/detect and records the name it prints. A buildpack
// without bin/detect applies, named after its ref.
func (b *Builder) detect(ctx context.Context, st *buildState, bp *buildpack) (bool, error) {
	script := filepath.Join(bp.dir, "bin", "detect")
	if !hasFile(bp.dir, "bin/detect") {
		bp.name = bp.ref
		return true, nil
	}
	out := &limitedBuffer{max: 4096}
	x := st.x
	err := x.run(ctx, command{
		argv:   []string{x.path(script), x.path(st.slug)},
		dir:    x.path(st.slug),
		env:    st.env,
		stdout: out,
		stderr: st.out,
	})
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var pe *paas.Error
	if errors.As(err, &pe) {
		return false, err
	}
	if err != nil {
		if !exited(err) {
			return false, &paas.Error{Msg: fmt.Sprintf("buildpack %s: cannot run bin/detect", bp.ref), Err: err}
		}
		return false, nil
	}
	name, _, _ := strings.Cut(strings.TrimSpace(out.buf.String()), "\n")
	bp.name = strings.TrimSpace(name)
	if bp.name == "" {
		bp.name = bp.ref
	}
	return true, nil
}

// detectScript runs the bin/detect of each buildpack directory it is
// given, in order, on the build dir (its first argument), and stops at
// the first that passes: it prints that buildpack's position (from 0) on
// a line of its own, then what its bin/detect printed, and exits 0. It
// exits 1 when none passes. Every bin/detect's standard error passes
// through.
const detectScript = `slug=$1; shift; i=0
for d; do
	if out=$("$d/bin/detect" "$slug"); then printf '%s\n%s\n' "$i" "$out"; exit 0; fi
	i=$((i+1))
done
exit 1`

// detectFirst picks the first of bps whose bin/detect passes (or that has
// none), running the detections in one step of the build, and records the
// name it printed. It reports false when none applies.
func (b *Builder) detectFirst(ctx context.Context, st *buildState, bps []buildpack) (buildpack, bool, error) {
	for i, bp := range bps {
		if !hasFile(bp.dir, "bin/detect") {
			// It applies: only those before it can come first.
			bps = bps[:i+1]
			break
		}
	}
	if len(bps) == 0 {
		return buildpack{}, false, nil
	}
	last := bps[len(bps)-1]
	scripted := bps
	if !hasFile(last.dir, "bin/detect") {
		scripted = bps[:len(bps)-1]
	}
	if len(scripted) > 0 {
		x := st.x
		argv := []string{"bash", "-c", detectScript, "paas-detect", x.path(st.slug)}
		for _, bp := range scripted {
			argv = append(argv, x.path(bp.dir))
		}
		out := &limitedBuffer{max: 4096}
		err := x.run(ctx, command{argv: argv, dir: x.path(st.slug), env: st.env, stdout: out, stderr: st.out})
		if ctx.Err() != nil {
			return buildpack{}, false, ctx.Err()
		}
		var pe *paas.Error
		if errors.As(err, &pe) {
			return buildpack{}, false, err
		}
		if err != nil && !exited(err) {
			return buildpack{}, false, &paas.Error{Msg: "cannot run the buildpacks' bin/detect", Err: err}
		}
		if err == nil {
			pos, rest, _ := strings.Cut(out.buf.String(), "\n")
			i, perr := strconv.Atoi(pos)
			if perr != nil || i < 0 || i >= len(scripted) {
				return buildpack{}, false, fmt.Errorf("detecting buildpacks: unexpected answer %q", pos)
			}
			bp := scripted[i]
			name, _, _ := strings.Cut(strings.TrimSpace(rest), "\n")
			bp.name = strings.TrimSpace(name)
			if bp.name == "" {
				bp.name = bp.ref
			}
			return bp, true, nil
		}
		if len(scripted) == len(bps) {
			return buildpack{}, false, nil
		}
	}
	last.name = last.ref
	return last, true, nil
}

// indentWriter prefixes every line written through it with seven spaces,
// the way build output indents details under a step.
type indentWriter struct {
	w       io.Writer
	partial []byte
}

func indent(w io.Writer) *indentWriter { return &indentWriter{w: w} }

func (iw *indentWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			iw.partial = append(iw.partial, p...)
			return n, nil
		}
		line := append(iw.partial, p[:i+1]...)
		iw.partial = nil
		if _, err := iw.w.Write(append([]byte("       "), line...)); err != nil {
			return n, err
		}
		p = p[i+1:]
	}
	return n, nil
}

// Flush writes a last unterminated line.
func (iw *indentWriter) Flush() {
	if len(iw.partial) > 0 {
		iw.w.Write(append(append([]byte("       "), iw.partial...), '\n'))
		iw.partial = nil
	}
}

// hasDockerfile reports whether the tree has a regular file Dockerfile at
// its root.
func hasDockerfile(st *buildState) bool {
	fi, err := st.root.Stat("Dockerfile")
	return err == nil && fi.Mode().IsRegular()
}
