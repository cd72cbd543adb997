package builder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"paas"
)

// warmIdle is how long a build container started ahead of an app's next
// build waits for it before it is removed.
const warmIdle = 10 * time.Minute

// warmStartTimeout bounds starting a build container ahead of a build.
const warmStartTimeout = 2 * time.Minute

// warmBuild is a build container started ahead of an app's next build,
// idle, with the scratch dir whose app/, env/ and buildpacks/ it mounts
// as the build dir, ENV_DIR and the fetched buildpacks. Nothing of any
// build has run in it.
type warmBuild struct {
	x     *containerExecutor
	work  string // the scratch dir, under CacheDir/APP (build-*)
	image string // ID of the stack image it runs
}

func (w *warmBuild) slug() string   { return filepath.Join(w.work, "app") }
func (w *warmBuild) envDir() string { return filepath.Join(w.work, "env") }
func (w *warmBuild) custom() string { return filepath.Join(w.work, "buildpacks") }

// warming is an app's warm build container being started or ready; the
// channel yields it once (nil when starting failed).
type warming struct {
	ready chan *warmBuild
	timer *time.Timer
}

// Prewarm starts a build container for app's next build in the
// background (Docker mode), unless one is there already: that build then
// skips starting one. It is removed when no build comes within warmIdle,
// by Remove and by Close. Call it once a deploy of app ended, while the
// app exists.
func (b *Builder) Prewarm(app string) {
	if b.docker == nil || paas.ValidateAppName(app) != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.warm[app] != nil {
		return
	}
	wm := &warming{ready: make(chan *warmBuild, 1)}
	b.warm[app] = wm
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), warmStartTimeout)
		defer cancel()
		w, err := b.startWarm(ctx, app)
		if err != nil {
			b.log.Warn("starting a build container ahead of the next build", "app", app, "err", err)
		}
		wm.ready <- w
	}()
	wm.timer = time.AfterFunc(warmIdle, func() {
		if b.dropWarm(app, wm) {
			b.discardWarm(<-wm.ready)
		}
	})
}

// dropWarm forgets wm as app's warm build container, reporting whether
// it still was.
func (b *Builder) dropWarm(app string, wm *warming) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.warm[app] != wm {
		return false
	}
	delete(b.warm, app)
	return true
}

// startWarm makes a scratch dir for app's next build and starts its
// build container.
func (b *Builder) startWarm(ctx context.Context, app string) (*warmBuild, error) {
	appCache := filepath.Join(b.cfg.CacheDir, app)
	for _, d := range []string{filepath.Join(appCache, "cache"), filepath.Join(appCache, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("making build cache: %w", err)
		}
	}
	work, err := os.MkdirTemp(appCache, "build-")
	if err != nil {
		return nil, fmt.Errorf("making build scratch dir: %w", err)
	}
	w := &warmBuild{work: work}
	for _, d := range []string{w.slug(), w.envDir(), w.custom()} {
		if err := os.Mkdir(d, 0o700); err != nil {
			removeAll(work)
			return nil, fmt.Errorf("making build scratch dir: %w", err)
		}
	}
	// Git buildpacks are fetched into it by the build's own user.
	if err := os.Chmod(w.custom(), 0o777); err != nil {
		removeAll(work)
		return nil, fmt.Errorf("making build scratch dir: %w", err)
	}
	var suffix [4]byte
	rand.Read(suffix[:])
	name := fmt.Sprintf("paas-build-%s-next-%s", app, hex.EncodeToString(suffix[:]))
	x, err := b.newBuildContainer(ctx, app, name, "next", containerDirs{
		slug:       w.slug(),
		buildpacks: b.cfg.BuildpacksDir,
		custom:     w.custom(),
		envDir:     w.envDir(),
		cache:      filepath.Join(appCache, "cache"),
		home:       filepath.Join(appCache, "home"),
		static:     b.cfg.StaticServer,
		paasd:      b.cfg.Binary,
	})
	if err != nil {
		removeAll(work)
		return nil, err
	}
	w.x = x
	insp, err := b.docker.ContainerInspect(ctx, x.id)
	if err != nil {
		b.discardWarm(w)
		return nil, engineError("inspecting the build container", err)
	}
	w.image = insp.Image
	return w, nil
}

// takeWarm hands app's build the build container started ahead of it,
// waiting for it when it is still starting; nil when there is none, or
// when it no longer runs or runs another stack image than the current
// one (it is removed then).
func (b *Builder) takeWarm(ctx context.Context, app string) *warmBuild {
	b.mu.Lock()
	wm := b.warm[app]
	delete(b.warm, app)
	b.mu.Unlock()
	if wm == nil {
		return nil
	}
	wm.timer.Stop()
	var w *warmBuild
	select {
	case w = <-wm.ready:
	case <-ctx.Done():
		go func() { b.discardWarm(<-wm.ready) }()
		return nil
	}
	if w == nil {
		return nil
	}
	insp, err := b.docker.ContainerInspect(ctx, w.x.id)
	running := err == nil && insp.State != nil && insp.State.Running && (w.x.agent == nil || !w.x.agent.gone())
	stack, err := b.docker.ImageInspect(ctx, b.cfg.StackImage)
	if !running || err != nil || stack.ID != w.image {
		b.discardWarm(w)
		return nil
	}
	return w
}

// discardWarm removes a warm build container and its scratch dir; nil
// does nothing.
func (b *Builder) discardWarm(w *warmBuild) {
	if w == nil {
		return
	}
	if w.x != nil {
		w.x.close()
	}
	if err := removeAll(w.work); err != nil {
		b.log.Error("removing build scratch dir", "dir", w.work, "err", err)
	}
}

// removeWarm removes app's warm build container, waiting for one still
// starting.
func (b *Builder) removeWarm(app string) {
	b.mu.Lock()
	wm := b.warm[app]
	delete(b.warm, app)
	b.mu.Unlock()
	if wm != nil {
		wm.timer.Stop()
		b.discardWarm(<-wm.ready)
	}
}

// Close removes the build containers started ahead of builds, and starts
// none from then on.
func (b *Builder) Close() {
	b.mu.Lock()
	b.closed = true
	apps := make([]string, 0, len(b.warm))
	for app := range b.warm {
		apps = append(apps, app)
	}
	b.mu.Unlock()
	for _, app := range apps {
		b.removeWarm(app)
	}
}
