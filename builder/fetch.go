package builder

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"paas"
	"paas/builder/gitfetch"
	"paas/buildpacks"
)

// fetchGrace is how much longer than the fetch's own limit its process
// may take before it is killed.
const fetchGrace = 30 * time.Second

// fetch makes ref available as a directory: a built-in as extracted, a
// server directory the operator listed as it is (copied into dst for a
// build container, which sees only what it mounts), a git repository
// fetched into dst.
func (b *Builder) fetch(ctx context.Context, st *buildState, ref buildpacks.Ref, dst string) (buildpack, error) {
	shown := displayRef(ref)
	switch ref.Kind {
	case buildpacks.BuiltinRef:
		return buildpack{ref: ref.Name, dir: filepath.Join(b.cfg.BuildpacksDir, ref.Name)}, nil
	case buildpacks.PathRef:
		if b.docker == nil {
			return buildpack{ref: shown, dir: ref.Dir}, nil
		}
		w := indent(st.out)
		err := run(ctx, command{argv: []string{"cp", "-a", "--", ref.Dir + "/.", dst}, env: []string{}, stderr: w})
		w.Flush()
		if err != nil {
			if ctx.Err() != nil {
				return buildpack{}, ctx.Err()
			}
			return buildpack{}, &paas.Error{Msg: fmt.Sprintf("buildpack %s: cannot copy it (%s)", shown, exitText(err)), Err: err}
		}
		// The copy keeps the operator's modes; the build's user must
		// read and run it.
		uid, gid := buildUser()
		if err := giveTrees(uid, gid, dst); err != nil {
			return buildpack{}, err
		}
		return buildpack{ref: shown, dir: dst}, nil
	case buildpacks.GitRef:
		return b.fetchGit(ctx, st, ref, dst)
	}
	return buildpack{}, fmt.Errorf("buildpack %s: unknown kind %d", shown, ref.Kind)
}

// fetchGit fetches a git buildpack into dst by running `paasd
// buildpack:fetch` where the build's steps run: in the build container on
// docker, as a child process on exec. It gets no environment of paasd's.
func (b *Builder) fetchGit(ctx context.Context, st *buildState, ref buildpacks.Ref, dst string) (buildpack, error) {
	shown := displayRef(ref)
	if b.cfg.Binary == "" {
		return buildpack{}, fmt.Errorf("buildpack %s: no paasd binary to fetch it with (Config.Binary)", shown)
	}
	fmt.Fprintf(st.out, "-----> Fetching buildpack %s\n", shown)
	x := st.x
	argv := []string{x.path(b.cfg.Binary), gitfetch.Command}
	if b.cfg.AllowLoopbackFetch {
		argv = append(argv, gitfetch.AllowLoopbackFlag)
	}
	argv = append(argv, ref.Given, x.path(dst))
	fctx, cancel := context.WithTimeout(ctx, gitfetch.Timeout+fetchGrace)
	defer cancel()
	w := indent(st.out)
	errOut := &limitedBuffer{max: 4096}
	err := x.run(fctx, command{argv: argv, dir: "/", env: []string{}, stdout: w, stderr: errOut})
	w.Flush()
	switch {
	case err == nil:
		return buildpack{ref: shown, dir: dst}, nil
	case ctx.Err() != nil:
		return buildpack{}, ctx.Err()
	case fctx.Err() != nil:
		return buildpack{}, &paas.Error{Msg: fmt.Sprintf("buildpack %s: fetching took longer than %s", shown, gitfetch.Timeout), Err: err}
	}
	var pe *paas.Error
	if errors.As(err, &pe) {
		return buildpack{}, err
	}
	if !exited(err) {
		return buildpack{}, &paas.Error{Msg: fmt.Sprintf("buildpack %s: cannot run the fetch", shown), Err: err}
	}
	msg, detail, _ := strings.Cut(strings.TrimSpace(errOut.buf.String()), "\n")
	if msg == "" {
		msg = "git fetch failed (" + exitText(err) + ")"
	}
	if u, err := url.Parse(ref.URL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			detail = strings.ReplaceAll(detail, pw, "xxxxx")
		}
	}
	b.log.Warn("fetching a buildpack failed", "app", st.req.App, "buildpack", shown, "reason", detail)
	return buildpack{}, &paas.Error{Msg: fmt.Sprintf("buildpack %s: %s", shown, msg), Err: err}
}

// displayRef is ref as the build output and the build's record show it:
// a password or token in a git URL is masked.
func displayRef(ref buildpacks.Ref) string {
	if ref.Kind != buildpacks.GitRef || (ref.Scheme != "https" && ref.Scheme != "http") {
		return ref.Given
	}
	u, err := url.Parse(ref.URL)
	if err != nil || u.User == nil {
		return ref.Given
	}
	if _, ok := u.User.Password(); !ok {
		return ref.Given
	}
	shown := u.Redacted()
	if ref.Rev != "" {
		shown += "#" + ref.Rev
	}
	return shown
}

// hasFile reports whether the buildpack in dir has the regular file rel,
// following symbolic links only within dir: what a fetched buildpack holds
// tells nothing of the host's files.
func hasFile(dir, rel string) bool {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return false
	}
	defer root.Close()
	fi, err := root.Stat(filepath.FromSlash(rel))
	return err == nil && fi.Mode().IsRegular()
}
