// Package builder turns a pushed source tree into a runnable artifact by
// running buildpacks (Heroku's classic buildpack API). Without Docker the
// buildpacks run on the host and the artifact is a slug directory, built in
// place at its final path so buildpacks may record absolute paths in it.
// With Docker they run in a build container of the stack image that sees
// the build dir at /app, and the artifact is an image paas/APP:bN holding
// the built tree at /app; a tree with only a Dockerfile is built with the
// engine's image build.
package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/client"

	"paas"
	"paas/buildpacks"
	"paas/internal/durable"
	"paas/internal/timing"
)

// DefaultTimeout limits a build when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Minute

// Config configures a Builder.
type Config struct {
	BuildpacksDir string        // built-ins are extracted here at New
	CacheDir      string        // per-app build cache at CacheDir/APP
	SlugsDir      string        // slug of build N of APP at SlugsDir/APP/bN (final location; build happens there)
	StaticServer  string        // executable copied into static slugs (exported to compile as PAAS_STATIC_SERVER)
	Timeout       time.Duration // whole-build limit (default 15m); exceeded => process group (or build container) killed, build fails with a clear message
	Logger        *slog.Logger
	// Credential, when set, gives the user and groups the steps of an
	// app's build run as on the host (see handToApp); nil runs them as
	// this process's user.
	Credential func(app string) (*syscall.Credential, error)

	// Binary is the paasd executable: a build fetches a git buildpack by
	// running `paasd buildpack:fetch` from it where its steps run (on
	// docker it is mounted read-only into the build container).
	Binary string
	// BuildpackPaths are the server directories (PAAS_BUILDPACK_PATHS) in
	// which a pusher may name a buildpack by its path; none by default.
	BuildpackPaths []string
	// AllowLoopbackFetch lets git buildpacks be fetched from the host's
	// loopback addresses. Tests set it for their git servers on
	// 127.0.0.1; paasd never does.
	AllowLoopbackFetch bool
	// RunDir holds a record of each build step running on the host, so
	// that ReapOrphans finds them after paasd was killed; "" records none.
	RunDir string
	// Owner tells this paasd's builds from those of others on the same
	// host and engine (ReapOrphans touches only its own): build
	// containers carry it as label paas.owner, host build steps in their
	// PAAS_BUILD_ID.
	Owner string

	// Docker, when set, runs builds in containers of StackImage and makes
	// images: Result.Slug is then the image reference paas/APP:bN.
	Docker       *client.Client
	StackImage   string // default DefaultStackImage
	BuildMemory  int64  // bytes, default DefaultBuildMemory; a build container cannot swap
	MaxImageSize int64  // bytes of an app image (stack included); 0 = unlimited
	// Guard, when set, keeps build containers from the host's own ports:
	// the build network's bridge is protected before a build joins it.
	Guard HostGuard
}

// Request is one build.
type Request struct {
	App    string
	Build  int
	Commit string
	Source io.Reader // tar stream of the commit's tree (as `git archive --format=tar` writes it)
	// Config is the app's config: written as Heroku ENV_DIR files (one file
	// per key), never into the process env of compile.
	Config map[string]string
	Out    io.Writer // live build output for the pusher; written as the build goes
	// Builder is how the app is built: paas.BuilderDockerfile,
	// paas.BuilderBuildpacks, or "" / paas.BuilderAuto.
	Builder string
}

// Result is a finished build.
type Result struct {
	// Slug is the absolute slug dir, or in Docker mode the image
	// reference paas/APP:bN.
	Slug string
	// ProcessTypes maps type to command; the Procfile wins over
	// bin/release defaults, merged per type. For a Dockerfile app without
	// a Procfile it is {"web": ""}: an empty command means the image's own
	// ENTRYPOINT/CMD.
	ProcessTypes map[string]string
	Buildpacks   []string // names or URLs used; "Dockerfile" for a Dockerfile build
	Port         int      // the port a Dockerfile EXPOSEs (the lowest TCP one); 0 = none
	// Healthchecks are the web checks of the tree's app.json.
	Healthchecks []paas.Healthcheck
	// Formation is app.json's formation: the initial counts and memory
	// of process types, for the app's first deploy.
	Formation map[string]ProcessFormation
	// Postdeploy is app.json's scripts.postdeploy, run once after the
	// app's first deploy goes live; "" for none.
	Postdeploy string
}

// Builder runs builds. Builds of different apps run concurrently; builds of
// one app run one at a time, since they share its cache.
type Builder struct {
	cfg    Config
	log    *slog.Logger
	docker dockerAPI // nil without Docker

	mu    sync.Mutex
	locks map[string]chan struct{}
	// warm holds, per app, the build container started ahead of its
	// next build (Docker mode); closed is set by Close.
	warm   map[string]*warming
	closed bool

	loads    loading    // whether the engine loads build images
	netMu    sync.Mutex // serializes making the build network
	oldStack sync.Once  // warns once of a stack image without its paas user
}

// New makes the builder's directories and extracts the built-in
// buildpacks into cfg.BuildpacksDir.
func New(cfg Config) (*Builder, error) {
	if cfg.BuildpacksDir == "" || cfg.CacheDir == "" || cfg.SlugsDir == "" {
		return nil, errors.New("builder: BuildpacksDir, CacheDir and SlugsDir are required")
	}
	for _, p := range []*string{&cfg.BuildpacksDir, &cfg.CacheDir, &cfg.SlugsDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, fmt.Errorf("builder: %w", err)
		}
		*p = abs
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("builder: %w", err)
		}
	}
	if cfg.RunDir != "" {
		if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
			return nil, fmt.Errorf("builder: %w", err)
		}
	}
	if cfg.StaticServer != "" {
		abs, err := filepath.Abs(cfg.StaticServer)
		if err != nil {
			return nil, fmt.Errorf("builder: %w", err)
		}
		cfg.StaticServer = abs
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StackImage == "" {
		cfg.StackImage = DefaultStackImage
	}
	if cfg.BuildMemory <= 0 {
		cfg.BuildMemory = DefaultBuildMemory
	}
	if err := buildpacks.Extract(cfg.BuildpacksDir); err != nil {
		return nil, fmt.Errorf("builder: %w", err)
	}
	b := &Builder{cfg: cfg, log: cfg.Logger, locks: make(map[string]chan struct{}), warm: make(map[string]*warming)}
	if cfg.Docker != nil {
		b.docker = cfg.Docker
	}
	return b, nil
}

// buildState is what the steps of one build share.
type buildState struct {
	req   Request
	out   io.Writer
	slug  string   // the build dir, which becomes the slug
	root  *os.Root // slug, for reading files of the tree without following links out
	cache string   // CACHE_DIR
	home  string   // HOME of build steps
	work  string   // scratch dir removed after the build
	env   []string // environment of build steps
	x     executor // where the steps run; paths above are host paths
}

// Build builds req.Source into SlugsDir/APP/bN and reports the process
// types it declares. The output goes to req.Out as it is produced. A failed
// build leaves no slug behind; its error is a *paas.Error when there is
// something to tell the user (which buildpack failed, a bad Procfile, a
// timeout).
func (b *Builder) Build(ctx context.Context, req Request) (Result, error) {
	if err := paas.ValidateAppName(req.App); err != nil {
		return Result{}, err
	}
	if req.Build < 1 {
		return Result{}, fmt.Errorf("builder: build number %d is not positive", req.Build)
	}
	if req.Source == nil {
		return Result{}, errors.New("builder: no source")
	}
	out := req.Out
	if out == nil {
		out = io.Discard
	}
	out = &lockedWriter{w: out}

	unlock, err := b.lock(ctx, req.App)
	if err != nil {
		return Result{}, fmt.Errorf("waiting for the previous build of %s: %w", req.App, err)
	}
	defer unlock()

	start := time.Now()
	log := b.log.With("app", req.App, "build", req.Build, "commit", req.Commit)
	bctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()

	slug := filepath.Join(b.cfg.SlugsDir, req.App, fmt.Sprintf("b%d", req.Build))
	res, err := b.build(bctx, req, slug, out)
	if err != nil {
		if bctx.Err() == nil {
			err = b.diskFullError(err)
		}
		if rerr := removeAll(slug); rerr != nil {
			log.Error("removing failed build", "slug", slug, "err", rerr)
		}
		if b.docker != nil {
			if rerr := b.removeImage(context.WithoutCancel(ctx), imageRef(req.App, req.Build)); rerr != nil {
				log.Error("removing image of failed build", "err", rerr)
			}
		}
		if bctx.Err() != nil && ctx.Err() == nil {
			err = &paas.Error{Msg: fmt.Sprintf("build timed out after %s and was stopped", b.cfg.Timeout), Err: err}
		} else if ctx.Err() != nil {
			err = &paas.Error{Msg: "build canceled", Err: err}
		}
		log.Warn("build failed", "err", err, "duration", time.Since(start))
		return Result{}, err
	}
	// The release that runs the slug is acknowledged after this: a crash
	// of the machine must not leave it a slug with empty files.
	if err := syncSlug(slug); err != nil {
		log.Error("syncing the slug", "slug", slug, "err", err)
		return Result{}, err
	}
	timing.Mark(ctx, "slug sync")
	log.Info("build done", "artifact", res.Slug, "buildpacks", res.Buildpacks, "duration", time.Since(start))
	return res, nil
}

func (b *Builder) build(ctx context.Context, req Request, slug string, out io.Writer) (Result, error) {
	// A build container started ahead of the build mounts the build dir
	// from its scratch dir: the image is a docker build's artifact.
	var warm *warmBuild
	if b.docker != nil {
		warm = b.takeWarm(ctx, req.App)
		if warm != nil {
			timing.Mark(ctx, "build container (started ahead)")
		}
	}
	if warm != nil {
		slug = warm.slug()
		// Its scratch dir goes with the build, whatever its outcome.
		defer func() {
			if err := removeAll(warm.work); err != nil {
				b.log.Error("removing build scratch dir", "app", req.App, "dir", warm.work, "err", err)
			}
		}()
		defer warm.x.close()
	} else if err := b.makeSlugDir(slug); err != nil {
		return Result{}, err
	}
	fmt.Fprintf(out, "-----> Building %s (commit %s)\n", req.App, shortCommit(req.Commit))

	if err := extractTar(req.Source, slug); err != nil {
		return Result{}, err
	}
	timing.Mark(ctx, "extract source")
	root, err := os.OpenRoot(slug)
	if err != nil {
		return Result{}, fmt.Errorf("opening slug: %w", err)
	}
	defer root.Close()
	// A broken Procfile fails the build before any work is done.
	if _, err := readProcfile(root); err != nil {
		return Result{}, err
	}

	appCache := filepath.Join(b.cfg.CacheDir, req.App)
	st := &buildState{
		req:   req,
		out:   out,
		slug:  slug,
		root:  root,
		cache: filepath.Join(appCache, "cache"),
		home:  filepath.Join(appCache, "home"),
	}
	for _, d := range []string{st.cache, st.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Result{}, fmt.Errorf("making build cache: %w", err)
		}
	}
	if warm != nil {
		st.work = warm.work
	} else if st.work, err = b.makeScratchDir(appCache, req.App); err != nil {
		return Result{}, err
	} else {
		// The scratch dir holds the app's config (ENV_DIR): it goes
		// with the build, whatever its outcome; ReapOrphans removes one
		// a killed paasd left.
		defer func() {
			if err := removeAll(st.work); err != nil {
				b.log.Error("removing build scratch dir", "app", req.App, "dir", st.work, "err", err)
			}
		}()
	}
	envDir := filepath.Join(st.work, "env")
	if err := writeEnvDir(envDir, req.Config); err != nil {
		return Result{}, err
	}
	if warm != nil {
		uid, gid := buildUser()
		if err := giveTrees(uid, gid, slug, envDir, warm.custom()); err != nil {
			return Result{}, err
		}
		b.adopt(warm.x, st)
		st.x = warm.x
	} else if b.docker == nil {
		cred, err := b.handToApp(st, envDir)
		if err != nil {
			return Result{}, err
		}
		id := b.newBuildID()
		st.x = hostExecutor{
			environ: b.buildEnv(st.home, req.Commit),
			id:      id,
			track:   func(pid int) func() { return b.trackStep(st, id, pid) },
			cred:    cred,
		}
	} else {
		x, err := b.startBuildContainer(ctx, st, containerDirs{
			slug:       slug,
			buildpacks: b.cfg.BuildpacksDir,
			custom:     filepath.Join(st.work, "buildpacks"),
			envDir:     envDir,
			cache:      st.cache,
			home:       st.home,
			static:     b.cfg.StaticServer,
			paasd:      b.cfg.Binary,
		})
		if err != nil {
			return Result{}, err
		}
		defer x.close()
		st.x = x
		timing.Mark(ctx, "build container start")
	}
	st.env = st.x.env()

	manifest, err := readAppJSON(st.root, out)
	if err != nil {
		return Result{}, err
	}
	bps, err := b.selectBuildpacks(ctx, st)
	if errors.Is(err, errDockerfile) {
		// Nothing of the build may run while paasd reads its tree.
		st.x.close()
		res, err := b.buildDockerfile(ctx, st)
		manifest.apply(&res)
		return res, err
	}
	if err != nil {
		return Result{}, err
	}
	warnUnsupported(st.root, bps, out)
	timing.Mark(ctx, "buildpack detect")
	var base *commitBase
	if b.docker != nil && b.loads.state.Load() != loadWorks {
		// The container the image may be committed from is made while
		// the buildpacks run.
		base = b.prepareCommit(ctx, st)
		defer b.discardCommit(ctx, req.App, base)
	}
	var exports []string
	for _, bp := range bps {
		if err := b.compile(ctx, st, bp, envDir, exports); err != nil {
			return Result{}, err
		}
		if hasFile(bp.dir, "export") {
			exports = append(exports, filepath.Join(bp.dir, "export"))
		}
	}

	timing.Mark(ctx, "buildpack compile")
	types, err := b.processTypes(ctx, st, bps)
	if err != nil {
		return Result{}, err
	}
	timing.Mark(ctx, "process types")
	if b.docker == nil {
		warnAppPaths(out, types)
	}
	size, err := dirSize(slug)
	if err != nil {
		return Result{}, fmt.Errorf("measuring slug: %w", err)
	}
	fmt.Fprintf(out, "-----> Compiled slug size: %s\n", humanSize(size))

	res := Result{Slug: slug, ProcessTypes: types}
	manifest.apply(&res)
	for _, bp := range bps {
		res.Buildpacks = append(res.Buildpacks, bp.ref)
	}
	if b.docker != nil {
		x := st.x.(*containerExecutor)
		// Nothing of the build may run while paasd reads its tree: a
		// process left behind could swap a file for a link to a host
		// file. The container is frozen first; its removal goes on
		// beside the commit and ends before the build does (the
		// deferred close waits for it).
		if err := x.freeze(ctx); err != nil {
			return Result{}, err
		}
		go x.close()
		timing.Mark(ctx, "build container freeze")
		if res.Slug, err = b.makeImage(ctx, st, types, base); err != nil {
			return Result{}, err
		}
		timing.Mark(ctx, "image commit")
	}
	return res, nil
}

// makeSlugDir makes the build dir slug afresh.
func (b *Builder) makeSlugDir(slug string) error {
	// A slug left by a crashed server for the same build number is stale.
	if err := removeAll(slug); err != nil {
		return fmt.Errorf("removing stale slug: %w", err)
	}
	if err := durable.MkdirAll(filepath.Dir(slug), 0o711); err != nil {
		return fmt.Errorf("making slug dir: %w", err)
	}
	if err := os.Mkdir(slug, 0o700); err != nil {
		return fmt.Errorf("making slug dir: %w", err)
	}
	return nil
}

// makeScratchDir makes a build's scratch dir under appCache, with the
// directory git buildpacks are fetched into by the build's own
// (unprivileged) user; the scratch dir around it is paasd's alone.
func (b *Builder) makeScratchDir(appCache, app string) (string, error) {
	work, err := os.MkdirTemp(appCache, "build-")
	if err != nil {
		return "", fmt.Errorf("making build scratch dir: %w", err)
	}
	custom := filepath.Join(work, "buildpacks")
	if err := os.Mkdir(custom, 0o777); err == nil {
		err = os.Chmod(custom, 0o777)
	}
	if err != nil {
		if rerr := removeAll(work); rerr != nil {
			b.log.Error("removing build scratch dir", "app", app, "dir", work, "err", rerr)
		}
		return "", fmt.Errorf("making build scratch dir: %w", err)
	}
	return work, nil
}

// compile runs bp's bin/compile with the exports of the buildpacks before
// it sourced into its environment.
func (b *Builder) compile(ctx context.Context, st *buildState, bp buildpack, envDir string, exports []string) error {
	x := st.x
	argv := []string{x.path(filepath.Join(bp.dir, "bin", "compile")), x.path(st.slug), x.path(st.cache), x.path(envDir)}
	if len(exports) > 0 {
		// The export files are sourced by a fixed script; their paths and
		// the compile command are its arguments, never part of it.
		pre := []string{"bash", "-c", `set -a; while [ "$1" != -- ]; do . "$1"; shift; done; shift; set +a; exec "$@"`, "paas-export"}
		for _, e := range exports {
			pre = append(pre, x.path(e))
		}
		pre = append(pre, "--")
		argv = append(pre, argv...)
	}
	err := x.run(ctx, command{argv: argv, dir: x.path(st.slug), env: st.env, stdout: st.out, stderr: st.out})
	if err == nil {
		return nil
	}
	var pe *paas.Error
	if ctx.Err() != nil || errors.As(err, &pe) {
		return err
	}
	return &paas.Error{Msg: fmt.Sprintf("buildpack %s failed: bin/compile %s", bp.ref, exitText(err)), Err: err}
}

// lock takes the app's build lock, waiting for ctx at most.
func (b *Builder) lock(ctx context.Context, app string) (func(), error) {
	b.mu.Lock()
	ch := b.locks[app]
	if ch == nil {
		ch = make(chan struct{}, 1)
		b.locks[app] = ch
	}
	b.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Remove deletes every slug and the build cache of app; in Docker mode
// also its images paas/APP:*, leftover build containers and its cache
// volume paas-cache-APP.
func (b *Builder) Remove(app string) error {
	if err := paas.ValidateAppName(app); err != nil {
		return err
	}
	unlock, err := b.lock(context.Background(), app)
	if err != nil {
		return err
	}
	defer unlock()
	if b.docker != nil {
		b.removeWarm(app)
		if err := b.removeDockerApp(context.Background(), app); err != nil {
			return err
		}
	}
	for _, dir := range []string{filepath.Join(b.cfg.SlugsDir, app), filepath.Join(b.cfg.CacheDir, app)} {
		if err := removeAll(dir); err != nil {
			return fmt.Errorf("removing %s: %w", dir, err)
		}
	}
	return nil
}

// RemoveBuild deletes the artifact of one build: its slug dir, and in
// Docker mode its image. A build that is already gone is no error.
func (b *Builder) RemoveBuild(ctx context.Context, app string, build int) error {
	if err := paas.ValidateAppName(app); err != nil {
		return err
	}
	if build < 1 {
		return fmt.Errorf("builder: build number %d is not positive", build)
	}
	if b.docker != nil {
		if err := b.removeImage(ctx, imageRef(app, build)); err != nil {
			return engineError("removing the image", err)
		}
	}
	slug := filepath.Join(b.cfg.SlugsDir, app, fmt.Sprintf("b%d", build))
	if err := removeAll(slug); err != nil {
		return fmt.Errorf("removing %s: %w", slug, err)
	}
	return nil
}

// removeAll is os.RemoveAll that also removes read-only directories, as
// the Go module cache makes them.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	if c == "" {
		return "unknown"
	}
	return c
}

// syncSlug makes a built slug durable, with its name, when the build left
// one on the host (a docker build's is its image, which the engine keeps).
func syncSlug(slug string) error {
	if _, err := os.Lstat(slug); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := durable.SyncTree(slug, true); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(slug))
}
