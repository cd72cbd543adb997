package builder

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"

	"paas"
	"paas/builder/agent"
)

// Where the build container sees the parts of a build.
const (
	viewApp        = "/app"
	viewBuildpacks = "/buildpacks"
	viewCustom     = "/buildpacks-custom"
	viewCache      = "/cache"
	viewEnv        = "/env"
	viewStatic     = "/paas/static-server"
	viewPaasd      = "/paas/paasd"
)

// idleCommand keeps a build container running until it is removed, and
// ends at once on SIGTERM.
var idleCommand = []string{"bash", "-c", "trap exit TERM; while :; do sleep 3600 & wait; done"}

// stackPath is the PATH of build steps in a container.
const stackPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// containerDirs are the host directories of a build and what the build
// container mounts.
type containerDirs struct {
	slug       string // the build dir, at /app
	buildpacks string // the built-in buildpacks, read-only at /buildpacks
	custom     string // fetched buildpacks at /buildpacks-custom, where the fetch writes them
	envDir     string // ENV_DIR, read-only at /env
	cache      string // the host paths CACHE_DIR and HOME stand for
	home       string
	static     string // the static file server, read-only at /paas/static-server; may be empty
	paasd      string // the paasd binary, read-only at /paas/paasd, run to fetch git buildpacks; may be empty
}

// containerExecutor runs build steps in one build container: through
// its agent (package agent) when the container runs one, as engine execs
// otherwise.
type containerExecutor struct {
	cli      dockerAPI
	id       string
	agent    *agentConn // nil: steps are execs
	maps     []pathMap
	environ  []string
	memory   int64
	log      *slog.Logger
	static   bool  // the static file server is mounted
	ooms     int64 // OOM kills of the container's cgroup seen so far
	oomKnown bool
	closed   sync.Once
}

// startBuildContainer creates and starts the build container of st with
// dirs mounted. It runs as the build user (buildUser) with no
// capabilities, no new privileges and a pids limit, on the build network;
// the build dir, ENV_DIR, the fetched buildpacks and the cache volume's
// directories are given to that user first.
func (b *Builder) startBuildContainer(ctx context.Context, st *buildState, dirs containerDirs) (*containerExecutor, error) {
	uid, gid := buildUser()
	if err := giveTrees(uid, gid, dirs.slug, dirs.envDir, dirs.custom); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("paas-build-%s-%d", st.req.App, st.req.Build)
	// A container left by a crashed server for the same build is stale.
	if err := b.docker.ContainerRemove(ctx, name, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
		return nil, engineError("removing a stale build container", err)
	}
	x, err := b.newBuildContainer(ctx, st.req.App, name, strconv.Itoa(st.req.Build), dirs)
	if err != nil {
		return nil, err
	}
	b.adopt(x, st)
	return x, nil
}

// adopt makes x, a build container started for app's builds, the one of
// st's build: its steps get the build's environment.
func (b *Builder) adopt(x *containerExecutor, st *buildState) {
	x.environ = b.containerEnv(st.req.Commit, x.static)
	x.log = b.log.With("app", st.req.App, "build", st.req.Build, "container", x.id[:12])
}

// newBuildContainer creates and starts a build container of app named
// name with dirs mounted, labelled with build (a number, or "next" for
// one started ahead of the next build), and returns it idle. Its user,
// confinement and network are startBuildContainer's.
func (b *Builder) newBuildContainer(ctx context.Context, app, name, build string, dirs containerDirs) (*containerExecutor, error) {
	cli := b.docker
	uid, gid := buildUser()
	if err := b.ensureCacheVolume(ctx, app, uid, gid); err != nil {
		return nil, err
	}
	net, err := b.ensureBuildNetwork(ctx)
	if err != nil {
		return nil, err
	}
	mounts := []mount.Mount{
		{Type: mount.TypeBind, Source: dirs.slug, Target: viewApp},
		{Type: mount.TypeBind, Source: dirs.buildpacks, Target: viewBuildpacks, ReadOnly: true},
		{Type: mount.TypeBind, Source: dirs.custom, Target: viewCustom},
		{Type: mount.TypeBind, Source: dirs.envDir, Target: viewEnv, ReadOnly: true},
		{Type: mount.TypeVolume, Source: cacheVolume(app), Target: viewCache},
	}
	if dirs.static != "" {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: dirs.static, Target: viewStatic, ReadOnly: true})
	}
	if dirs.paasd != "" {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: dirs.paasd, Target: viewPaasd, ReadOnly: true})
	}
	cfg := &container.Config{
		Image:      b.cfg.StackImage,
		Cmd:        idleCommand,
		WorkingDir: viewApp,
		User:       fmt.Sprintf("%d:%d", uid, gid),
		Labels: map[string]string{
			labelApp:   app,
			labelBuild: build,
			labelRole:  "build",
		},
	}
	if dirs.paasd != "" {
		// The container's first process is the agent the steps are
		// sent to, on its standard input.
		cfg.Cmd = []string{viewPaasd, agent.Command}
		cfg.OpenStdin, cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr = true, true, true, true
	}
	if b.cfg.Owner != "" {
		cfg.Labels[labelOwner] = b.cfg.Owner
	}
	pids := int64(buildPidsLimit)
	host := &container.HostConfig{
		Mounts:      mounts,
		Resources:   container.Resources{Memory: b.cfg.BuildMemory, MemorySwap: b.cfg.BuildMemory, PidsLimit: &pids},
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
		NetworkMode: container.NetworkMode(net),
	}
	created, err := cli.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if errdefs.IsNotFound(err) {
		return nil, &paas.Error{Msg: fmt.Sprintf("stack image %s not found: build it with `paasd stack:build`", b.cfg.StackImage), Err: err}
	}
	if err != nil {
		return nil, engineError("creating the build container", err)
	}
	x := &containerExecutor{
		cli:    cli,
		id:     created.ID,
		memory: b.cfg.BuildMemory,
		static: dirs.static != "",
		log:    b.log.With("app", app, "build", build, "container", created.ID[:12]),
		maps: []pathMap{
			{dirs.slug, viewApp},
			{dirs.buildpacks, viewBuildpacks},
			{dirs.custom, viewCustom},
			{dirs.envDir, viewEnv},
			{dirs.cache, viewCache + "/cache"},
			{dirs.home, viewCache + "/home"},
		},
	}
	if dirs.paasd != "" {
		x.maps = append(x.maps, pathMap{dirs.paasd, viewPaasd})
	}
	if dirs.static != "" {
		x.maps = append(x.maps, pathMap{dirs.static, viewStatic})
	}
	// The engine extracts as root: the volume's root and its two
	// directories become the build user's.
	if err := cli.CopyToContainer(ctx, created.ID, "/", cacheSkeleton(uid, gid), container.CopyToContainerOptions{}); err != nil {
		x.close()
		return nil, engineError("preparing the build cache", err)
	}
	if dirs.paasd != "" {
		// Attached before it starts: nothing the agent says is missed.
		if x.agent, err = attachAgent(ctx, cli, created.ID, x.log); err != nil {
			x.close()
			return nil, engineError("attaching to the build container", err)
		}
	}
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		x.close()
		return nil, engineError("starting the build container", err)
	}
	// The container's memory cgroup is new: it has seen no OOM kill.
	x.ooms, x.oomKnown = 0, true
	return x, nil
}

func (x *containerExecutor) path(p string) string { return translate(x.maps, p) }

func (x *containerExecutor) env() []string { return x.environ }

// run runs c as an exec of the build container, its output demultiplexed
// to c.stdout and c.stderr as it comes. When ctx is done the exec's stream
// is closed; the container itself is killed by close.
func (x *containerExecutor) run(ctx context.Context, c command) error {
	env := c.env
	if env == nil {
		env = x.environ
	}
	stdout, stderr := tolerant(c.stdout), tolerant(c.stderr)
	if c.stderr == c.stdout {
		stderr = stdout
	}
	var code int
	var err error
	if x.agent != nil {
		code, err = x.agent.client.Run(ctx, agent.Step{Argv: c.argv, Env: env, Dir: c.dir}, stdout, stderr)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("running %s: %w", c.argv[0], ctx.Err())
			}
			if x.outOfMemory(ctx) {
				return x.oomError(&exitError{code: 137})
			}
			return x.fail(ctx, "running a build step", err)
		}
	} else if code, err = x.runExec(ctx, c, env, stdout, stderr); err != nil {
		return err
	}
	if code == 0 {
		return nil
	}
	if code > 128 && x.containerGoneWithin(ctx, engineStopGrace) {
		return &paas.Error{Msg: msgEngineRestarted, Err: &exitError{code: code}}
	}
	if x.outOfMemory(ctx) {
		return x.oomError(&exitError{code: code})
	}
	return fmt.Errorf("running %s: %w", c.argv[0], &exitError{code: code})
}

// oomError is the error of a step the kernel killed for lack of memory.
func (x *containerExecutor) oomError(err error) error {
	return &paas.Error{
		Msg: fmt.Sprintf("build ran out of memory (limit %s); raise PAAS_BUILD_MEMORY", memText(x.memory)),
		Err: err,
	}
}

// runExec runs c as an engine exec and returns its exit status; an
// error is the engine's, or ctx's.
func (x *containerExecutor) runExec(ctx context.Context, c command, env []string, stdout, stderr io.Writer) (int, error) {
	created, err := x.cli.ContainerExecCreate(ctx, x.id, container.ExecOptions{
		Cmd:          c.argv,
		Env:          env,
		WorkingDir:   c.dir,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return 0, x.fail(ctx, "starting a build step", err)
	}
	att, err := x.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return 0, x.fail(ctx, "starting a build step", err)
	}
	stop := context.AfterFunc(ctx, att.Close)
	_, cerr := stdcopy.StdCopy(stdout, stderr, att.Reader)
	stop()
	att.Close()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("running %s: %w", c.argv[0], ctx.Err())
	}
	if cerr != nil {
		return 0, x.fail(ctx, "reading build output", cerr)
	}
	code, err := x.exitCode(ctx, created.ID)
	if err != nil {
		return 0, x.fail(ctx, "reading the exit status of a build step", err)
	}
	return code, nil
}

// exitCode waits for the exec to be recorded as finished once its stream
// has ended, and returns its exit code.
func (x *containerExecutor) exitCode(ctx context.Context, id string) (int, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		insp, err := x.cli.ContainerExecInspect(ctx, id)
		if err != nil {
			return 0, err
		}
		if !insp.Running {
			return insp.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return 0, errors.New("build step still running after its output ended")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// msgEngineRestarted is why a build fails whose container the engine
// lost (it stopped, restarted or was killed) while a step ran.
const msgEngineRestarted = "the Docker engine restarted during the build; push again"

// fail explains an engine error of a step; a canceled ctx wins. A step
// whose exec or container the engine no longer knows, or whose engine
// does not answer, was cut short by the engine going away.
func (x *containerExecutor) fail(ctx context.Context, doing string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", doing, ctx.Err())
	}
	if errdefs.IsNotFound(err) || x.containerGoneWithin(ctx, engineStopGrace) {
		return &paas.Error{Msg: msgEngineRestarted, Err: err}
	}
	return engineError(doing, err)
}

// engineStopGrace is how long a step killed by a signal, or cut off, is
// given to show an engine stopping: the engine kills the step's processes
// before it records the container as stopped and closes its API.
const engineStopGrace = 3 * time.Second

// containerGoneWithin reports whether the build container stops running
// (it idles for the whole build) or the engine stops answering within
// grace.
func (x *containerExecutor) containerGoneWithin(ctx context.Context, grace time.Duration) bool {
	deadline := time.Now().Add(grace)
	for {
		insp, err := x.cli.ContainerInspect(ctx, x.id)
		if err != nil {
			return ctx.Err() == nil
		}
		if insp.State == nil || !insp.State.Running {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// outOfMemory reports whether the kernel killed a process of the build
// container for lack of memory since the last check.
func (x *containerExecutor) outOfMemory(ctx context.Context) bool {
	insp, err := x.cli.ContainerInspect(ctx, x.id)
	if err == nil && insp.State != nil && insp.State.OOMKilled {
		return true
	}
	n, ok := x.oomKills(ctx)
	if !ok {
		return false
	}
	more := x.oomKnown && n > x.ooms
	x.ooms, x.oomKnown = n, true
	return more
}

// oomKills reads the count of OOM kills in the container's memory cgroup
// (cgroup v2 memory.events, or v1 memory.oom_control).
func (x *containerExecutor) oomKills(ctx context.Context) (int64, bool) {
	var out limitedBuffer
	out.max = 4096
	err := x.run0(ctx, []string{"cat", "/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"}, &out)
	if err != nil && out.buf.Len() == 0 {
		return 0, false
	}
	sc := bufio.NewScanner(&out.buf)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "oom_kill" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// run0 runs argv in the container without OOM interpretation, stdout to w.
func (x *containerExecutor) run0(ctx context.Context, argv []string, w io.Writer) error {
	created, err := x.cli.ContainerExecCreate(ctx, x.id, container.ExecOptions{Cmd: argv, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return err
	}
	att, err := x.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return err
	}
	defer att.Close()
	_, err = stdcopy.StdCopy(w, io.Discard, att.Reader)
	return err
}

// freeze stops every process of the build container from running any
// more, returning once none can: the engine freezes the container's
// cgroup, which every step's process is in (pausing is quicker than
// killing; close then removes the container, frozen). When pausing
// fails the container is killed instead (the engine kills its init, and
// with it its whole pid namespace, and waits for it).
func (x *containerExecutor) freeze(ctx context.Context) error {
	err := x.cli.ContainerPause(ctx, x.id)
	if err == nil || errdefs.IsNotFound(err) {
		return nil // frozen, or gone
	}
	x.log.Warn("pausing the build container failed: killing it", "err", err)
	err = x.cli.ContainerKill(ctx, x.id, "KILL")
	if err == nil || errdefs.IsNotFound(err) || errdefs.IsConflict(err) {
		return nil // killed, gone, or not running
	}
	return engineError("stopping the build container", err)
}

// close kills and removes the build container, once. When the engine is
// away, it is removed once the engine answers again (within
// removeRetryFor), in the background.
func (x *containerExecutor) close() {
	x.closed.Do(func() {
		if x.agent != nil {
			x.agent.close()
		}
		err := x.remove()
		if err != nil && (client.IsErrConnectionFailed(err) || isConnectionError(err)) {
			x.log.Warn("the engine is away: the build container is removed once it answers", "err", err)
			go x.removeLater()
			return
		}
		if err != nil {
			x.log.Error("removing build container", "err", err)
		}
	})
}

// removeRetryFor bounds how long a build container is retried for
// removal while the engine is away.
const removeRetryFor = 10 * time.Minute

// remove force-removes the build container; one gone is fine.
func (x *containerExecutor) remove() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := x.cli.ContainerRemove(ctx, x.id, container.RemoveOptions{Force: true})
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// removeLater retries removing the build container, with backoff, until
// it is gone or removeRetryFor passes.
func (x *containerExecutor) removeLater() {
	deadline := time.Now().Add(removeRetryFor)
	delay := 200 * time.Millisecond
	for {
		time.Sleep(delay)
		err := x.remove()
		if err == nil {
			x.log.Info("build container removed after the engine came back")
			return
		}
		if time.Now().After(deadline) {
			x.log.Error("removing build container", "err", err)
			return
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// tolerantWriter passes writes on until the first failure and then drops
// the rest, so a reader that hung up never stalls a build step.
type tolerantWriter struct {
	w      io.Writer
	failed bool
}

func tolerant(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return &tolerantWriter{w: w}
}

func (t *tolerantWriter) Write(p []byte) (int, error) {
	if !t.failed {
		if _, err := t.w.Write(p); err != nil {
			t.failed = true
		}
	}
	return len(p), nil
}
