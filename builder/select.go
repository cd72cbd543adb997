package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"paas"
	"paas/buildpacks"
)

// buildpack is one buildpack a build runs.
type buildpack struct {
	ref  string // what the result records: a built-in name or the entry as given
	dir  string // holds bin/detect, bin/compile, bin/release
	name string // what bin/detect printed
}

// noBuildpack is the message of a build no built-in buildpack detects.
const noBuildpack = "no buildpack detected: looked for go.mod (Go), package.json (Node.js), " +
	"requirements.txt, pyproject.toml or *.py with a Procfile (Python), index.html or public/ (static), Procfile, Dockerfile"

// errDockerfile says the tree is to be built from its Dockerfile.
var errDockerfile = errors.New("build with the Dockerfile")

// scpLike matches git's scp-like ssh syntax: [user@]host:path.
var scpLike = regexp.MustCompile(`^([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:[^/]`)

// selectBuildpacks picks the buildpacks of a build: BUILDPACK_URL from the
// app's config, else the tree's .buildpacks file, else the first built-in
// buildpack whose bin/detect passes. Custom buildpacks are fetched into
// work and must pass their own bin/detect when they have one.
func (b *Builder) selectBuildpacks(ctx context.Context, st *buildState) ([]buildpack, error) {
	var refs []string
	if v := strings.TrimSpace(st.req.Config["BUILDPACK_URL"]); v != "" {
		if err := buildpacks.ValidateBuildpackRef(v); err != nil {
			return nil, paas.Errorf("BUILDPACK_URL: %s", err.Error())
		}
		refs = []string{v}
	} else {
		data, err := st.root.ReadFile(".buildpacks")
		switch {
		case err == nil:
			if refs, err = buildpacks.ParseBuildpacksFile(data); err != nil {
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
		// The language buildpacks win over a Dockerfile; a Dockerfile wins
		// over a bare Procfile, which then names its process types.
		for _, name := range buildpacks.Builtin() {
			if name == "procfile" && hasDockerfile(st) {
				break
			}
			bp := buildpack{ref: name, dir: filepath.Join(b.cfg.BuildpacksDir, name)}
			ok, err := b.detect(ctx, st, &bp)
			if err != nil {
				return nil, err
			}
			if ok {
				fmt.Fprintf(st.out, "-----> %s app detected\n", bp.name)
				return []buildpack{bp}, nil
			}
		}
		if hasDockerfile(st) {
			if b.docker == nil {
				return nil, paas.Errorf("Dockerfile apps need the docker runtime: this server builds without Docker")
			}
			return nil, errDockerfile
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
			return nil, paas.Errorf("buildpack %s does not apply to this app: its bin/detect failed", ref)
		}
		fmt.Fprintf(st.out, "-----> %s app detected\n", bp.name)
		list = append(list, bp)
	}
	return list, nil
}

// detect runs bp's bin/detect and records the name it prints. A buildpack
// without bin/detect applies, named after its ref.
func (b *Builder) detect(ctx context.Context, st *buildState, bp *buildpack) (bool, error) {
	script := filepath.Join(bp.dir, "bin", "detect")
	if _, err := os.Stat(script); errors.Is(err, fs.ErrNotExist) {
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

// fetch makes ref available as a directory: a built-in by name, a plain
// directory on the server as is, or a git repository (URL or local path,
// optionally followed by #REF) cloned into dst.
func (b *Builder) fetch(ctx context.Context, st *buildState, ref, dst string) (buildpack, error) {
	if slices.Contains(buildpacks.Builtin(), ref) {
		return buildpack{ref: ref, dir: filepath.Join(b.cfg.BuildpacksDir, ref)}, nil
	}
	url, rev, _ := strings.Cut(ref, "#")
	if strings.HasPrefix(rev, "-") {
		return buildpack{}, paas.Errorf("buildpack %s: invalid ref %q", ref, rev)
	}
	if filepath.IsAbs(url) {
		fi, err := os.Stat(url)
		if err != nil || !fi.IsDir() {
			return buildpack{}, paas.Errorf("buildpack %s: no such directory on the server", ref)
		}
		if !isGitRepo(url) {
			if rev != "" {
				return buildpack{}, paas.Errorf("buildpack %s: #%s given but %s is not a git repository", ref, rev, url)
			}
			if b.docker == nil {
				return buildpack{ref: ref, dir: url}, nil
			}
			// A build container sees only what it mounts: a copy.
			w := indent(st.out)
			err := run(ctx, command{argv: []string{"cp", "-a", "--", url + "/.", dst}, stderr: w})
			w.Flush()
			if err != nil {
				if ctx.Err() != nil {
					return buildpack{}, ctx.Err()
				}
				return buildpack{}, &paas.Error{Msg: fmt.Sprintf("buildpack %s: cannot copy it (%s)", ref, exitText(err)), Err: err}
			}
			return buildpack{ref: ref, dir: dst}, nil
		}
	} else if !strings.Contains(url, "://") && !scpLike.MatchString(url) {
		return buildpack{}, paas.Errorf("buildpack %s: expected a git URL, an absolute path or a built-in name (%s)",
			ref, strings.Join(buildpacks.Builtin(), ", "))
	}

	fmt.Fprintf(st.out, "-----> Fetching buildpack %s\n", ref)
	if err := b.git(ctx, st, "", "clone", "--quiet", "--", url, dst); err != nil {
		return buildpack{}, b.gitError(ctx, ref, "clone", err)
	}
	if rev != "" {
		var sha limitedBuffer
		sha.max = 256
		err := run(ctx, command{
			argv: []string{"git", "-C", dst, "rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}"},
			env:  gitEnv(), stdout: &sha,
		})
		if err != nil {
			sha.buf.Reset()
			err = run(ctx, command{
				argv: []string{"git", "-C", dst, "rev-parse", "--verify", "--quiet", "--end-of-options", "refs/remotes/origin/" + rev + "^{commit}"},
				env:  gitEnv(), stdout: &sha,
			})
		}
		if err != nil {
			if ctx.Err() != nil {
				return buildpack{}, ctx.Err()
			}
			return buildpack{}, paas.Errorf("buildpack %s: no branch, tag or commit %q", ref, rev)
		}
		if err := b.git(ctx, st, dst, "checkout", "--quiet", "--detach", strings.TrimSpace(sha.buf.String())); err != nil {
			return buildpack{}, b.gitError(ctx, ref, "checkout", err)
		}
	}
	return buildpack{ref: ref, dir: dst}, nil
}

// git runs a git command for fetching a buildpack, its output to the build
// output. Only the file, git, ssh, http and https transports are allowed.
func (b *Builder) git(ctx context.Context, st *buildState, dir string, args ...string) error {
	argv := []string{"git",
		"-c", "protocol.allow=never",
		"-c", "protocol.file.allow=always",
		"-c", "protocol.git.allow=always",
		"-c", "protocol.ssh.allow=always",
		"-c", "protocol.http.allow=always",
		"-c", "protocol.https.allow=always",
	}
	if dir != "" {
		argv = append(argv, "-C", dir)
	}
	argv = append(argv, args...)
	w := indent(st.out)
	err := run(ctx, command{argv: argv, env: gitEnv(), stdout: w, stderr: w})
	w.Flush()
	return err
}

func (b *Builder) gitError(ctx context.Context, ref, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &paas.Error{Msg: fmt.Sprintf("buildpack %s: git %s failed (%s)", ref, what, exitText(err)), Err: err}
}

// gitEnv is the server's environment with prompts turned off: fetching a
// buildpack may need the server's credentials and CA settings, but must
// never wait for input.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(gitRepoVars, k) {
			env = append(env, kv)
		}
	}
	env = append(env, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "SSH_ASKPASS=true")
	if os.Getenv("GIT_SSH_COMMAND") == "" && os.Getenv("GIT_SSH") == "" {
		env = append(env, "GIT_SSH_COMMAND=ssh -o BatchMode=yes")
	}
	return env
}

// gitRepoVars point git at a particular repository; set in the server's
// environment (as inside a git hook) they would redirect a clone.
var gitRepoVars = []string{
	"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
	"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH", "GIT_NAMESPACE",
	"GIT_COMMON_DIR", "GIT_PREFIX", "GIT_CEILING_DIRECTORIES",
}

// isGitRepo reports whether dir is a git work tree or a bare repository.
func isGitRepo(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return true
	}
	_, herr := os.Stat(filepath.Join(dir, "HEAD"))
	fi, oerr := os.Stat(filepath.Join(dir, "objects"))
	return herr == nil && oerr == nil && fi.IsDir()
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
