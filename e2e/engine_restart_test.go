package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"paas/internal/faulttest"
	"paas/internal/gittest"
)

// engineRecoveryBound is how long after the engine answers again every
// app must answer again; bench/faults measures the actual time.
const engineRecoveryBound = 60 * time.Second

// TestEngineRestart restarts the Docker engine under a paasd serving three
// apps, each answering its own name, polled through the router the whole
// time: first an engine without live-restore (its containers stop with
// it, and a build in flight fails saying why), then one with live-restore
// (its containers survive). Each time paasd stays up, says so once, never
// routes a request to another app's container, every app answers again
// within engineRecoveryBound, `ps` shows the instances up, no container
// is left over (the survivors are followed again, not replaced), and a
// push made afterwards goes through.
//
// The engine is the test's own, in a network namespace of its own, and
// so is paasd, which the test reaches through the namespace's veth pair.
func TestEngineRestart(t *testing.T) {
	if why := faulttest.Requirement(); why != "" {
		t.Skip(why)
	}
	if ok, why := dockerReady(); !ok {
		t.Skip("the host's docker engine lends the stack image: " + why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	eng := startTestEngine(t, ctx, false)
	cli, err := eng.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	vetted := t.TempDir()
	gittest.WriteFiles(t, filepath.Join(vetted, "slow"), map[string]string{
		"bin/compile": "#!/usr/bin/env bash\necho compile is running\nexec sleep 600\n",
	})
	s := startServerVia(t, eng.Wrap(),
		"PAAS_RUNTIME=docker", "DOCKER_HOST="+eng.Host, "PAAS_HOST_FIREWALL=off",
		"PAAS_BUILDPACK_PATHS="+vetted,
		"PAAS_SSH_ADDR="+eng.PeerIP+":0", "PAAS_HTTP_ADDR="+eng.PeerIP+":0", "PAAS_HTTPS_ADDR="+eng.PeerIP+":0")

	apps := []string{"engmark-a", "engmark-b", "engmark-c"}
	dirs := map[string]string{}
	for _, app := range apps {
		dirs[app] = s.newRepo("marker", app)
		requireOK(t, "push "+app, s.push(dirs[app], "paas", "main"))
		s.mustGet(app, "/", faulttest.Answer(app))
	}
	pollers := map[string]*faulttest.Poller{}
	for _, app := range apps {
		pollers[app] = faulttest.Start(ctx, faulttest.Config{URL: "http://" + s.httpAddr + "/", App: app, Domain: "localhost"})
	}
	defer func() {
		for _, p := range pollers {
			p.Stop()
		}
	}()
	for _, app := range apps {
		if _, err := pollers[app].WaitAnswered(ctx, time.Now(), 5, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	// Without live-restore, with a build in flight.
	build := s.newRepoOf("engmark-build", map[string]string{
		".buildpacks": filepath.Join(vetted, "slow") + "\n",
		"Procfile":    "web: python3 -m http.server $PORT\n",
	})
	requireOK(t, "apps:create", s.ssh("apps:create engmark-build"))
	pushed := make(chan result, 1)
	go func() { pushed <- s.runQuiet(build, "git", "push", "paas", "main") }()
	waitCompiling(t, ctx, cli, "engmark-build", pushed)
	// And a Dockerfile build, in a RUN step.
	dockerfile := s.newRepoOf("engmark-dockerfile", map[string]string{
		"Dockerfile": "FROM " + stackImage() + "\nRUN echo the step is running && sleep 601\n",
	})
	requireOK(t, "apps:create", s.ssh("apps:create engmark-dockerfile"))
	pushedDockerfile := make(chan result, 1)
	go func() { pushedDockerfile <- s.runQuiet(dockerfile, "git", "push", "paas", "main") }()
	waitRunning(t, ctx, cli, "sleep 601", pushedDockerfile)
	before := instanceContainers(t, cli)
	restartEngine(t, ctx, s, eng, pollers, false, 1)
	for what, c := range map[string]chan result{"a buildpack build": pushed, "a Dockerfile build": pushedDockerfile} {
		if r := <-c; r.code == 0 || !strings.Contains(r.stderr, "the Docker engine restarted during the build; push again") {
			t.Fatalf("push of %s during the engine restart: exit %d, want a failure saying the engine restarted:\n%s", what, r.code, r.stderr)
		}
	}
	// The failed build's container goes once the engine is back.
	deadline := time.Now().Add(time.Minute)
	for buildContainersOf(t, cli, "engmark-build") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the failed build's container is left after the engine came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := instanceContainers(t, cli)
	if len(after) != len(apps) {
		t.Fatalf("containers after the restart: %v, want one per app", after)
	}
	if slices.ContainsFunc(after, func(id string) bool { return slices.Contains(before, id) }) {
		t.Fatalf("containers %v before and %v after an engine restart without live-restore: want all new", before, after)
	}

	// With live-restore: the same containers serve on.
	if err := eng.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, app := range apps {
		if _, err := pollers[app].WaitAnswered(ctx, time.Now(), 5, engineRecoveryBound); err != nil {
			t.Fatal(err)
		}
	}
	before = instanceContainers(t, cli)
	restartEngine(t, ctx, s, eng, pollers, true, 3)
	if after := instanceContainers(t, cli); !slices.Equal(before, after) {
		t.Fatalf("containers %v before and %v after an engine restart with live-restore: want the same, followed again", before, after)
	}

	// Pushes go through afterwards.
	gittest.WriteFiles(t, dirs[apps[0]], map[string]string{"CHANGES": "after the engine restarts\n"})
	s.commitAll(dirs[apps[0]], "after the restarts")
	requireOK(t, "push after the engine restarts", s.push(dirs[apps[0]], "paas", "main"))
	s.mustGet(apps[0], "/", faulttest.Answer(apps[0]))
	for app, p := range pollers {
		if c := p.Counts(); c.Wrong != 0 {
			t.Errorf("%s: %d of %d requests answered by another app: %q", app, c.Wrong, c.Requests, c.WrongAnswers)
		}
	}
}

// startTestEngine starts an engine of the test's own (live-restore as
// given) with the stack image, removed when the test ends.
func startTestEngine(t *testing.T, ctx context.Context, liveRestore bool) *faulttest.Engine {
	t.Helper()
	dir, err := os.MkdirTemp("", "paas-eng")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := faulttest.NewEngine(dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("test engine log:\n%s", eng.LogTail())
		}
		if err := eng.Close(); err != nil {
			t.Errorf("removing the test engine: %v", err)
		}
	})
	if err := eng.Start(ctx, liveRestore); err != nil {
		t.Fatal(err)
	}
	cache, err := faulttest.StackCache(ctx, stackImage())
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.LoadImage(ctx, stackImage(), cache); err != nil {
		t.Fatal(err)
	}
	return eng
}

// restartEngine stops the engine (SIGTERM) and starts it again, with
// live-restore or without, and checks what must hold: paasd alive, its
// log saying once (the n-th time) that the engine went and came back,
// no request answered by another app, every app answering again within
// the bound, and `ps` showing the instances up.
func restartEngine(t *testing.T, ctx context.Context, s *server, eng *faulttest.Engine, pollers map[string]*faulttest.Poller, liveRestore bool, n int) {
	t.Helper()
	wrongBefore := map[string]int{}
	for app, p := range pollers {
		wrongBefore[app] = p.Counts().Wrong
	}
	start := time.Now()
	if err := eng.Stop(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	if err := eng.Start(ctx, liveRestore); err != nil {
		t.Fatal(err)
	}
	var recovery time.Duration
	for app, p := range pollers {
		at, err := p.WaitAnswered(ctx, back, 10, engineRecoveryBound)
		if err != nil {
			t.Fatalf("after an engine restart (live-restore %v): %v\n%s", liveRestore, err, s.out.String())
		}
		recovery = max(recovery, at.Sub(back))
		if c := p.Counts(); c.Wrong != wrongBefore[app] {
			t.Fatalf("%s: requests answered by another app during the engine restart: %q", app, c.WrongAnswers)
		}
	}
	t.Logf("engine restart (live-restore %v): engine away %s, every app answering %s after it came back",
		liveRestore, back.Sub(start).Round(time.Millisecond), recovery.Round(time.Millisecond))
	select {
	case <-s.done:
		t.Fatalf("paasd exited during the engine restart:\n%s", s.out.String())
	default:
	}
	out := s.out.String()
	if got := strings.Count(out, "docker engine stopped answering"); got != n {
		t.Errorf("paasd said %d times that the engine stopped answering, want %d (once a restart)", got, n)
	}
	if got := strings.Count(out, "docker engine answers again"); got != n {
		t.Errorf("paasd said %d times that the engine answers again, want %d", got, n)
	}
	for app := range pollers {
		ps := s.ssh("ps " + app)
		requireOK(t, "ps", ps)
		if !strings.Contains(lineOf(ps.stdout, "web.1"), "up") {
			t.Errorf("ps %s after the engine restart:\n%s", app, ps.stdout)
		}
	}
}

// waitCompiling waits until app's build container runs its compile
// step (a sleep 600), failing the test if the push ends first.
func waitCompiling(t *testing.T, ctx context.Context, cli *client.Client, app string, pushed <-chan result) {
	t.Helper()
	waitRunningIn(t, ctx, cli, filters.NewArgs(filters.Arg("label", "paas.app="+app), filters.Arg("label", "paas.role=build")), "sleep 600", pushed)
}

// waitRunning waits until a container of the engine runs a process whose
// command line holds marker, failing the test if the push ends first.
func waitRunning(t *testing.T, ctx context.Context, cli *client.Client, marker string, pushed <-chan result) {
	t.Helper()
	waitRunningIn(t, ctx, cli, filters.NewArgs(), marker, pushed)
}

// waitRunningIn waits until one of the containers f selects runs a
// process whose command line holds marker, failing the test if the push
// ends first.
func waitRunningIn(t *testing.T, ctx context.Context, cli *client.Client, f filters.Args, marker string, pushed <-chan result) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case r := <-pushed:
			t.Fatalf("the push ended before %q ran: exit %d\n%s", marker, r.code, r.stderr)
		default:
		}
		cs, _ := cli.ContainerList(ctx, container.ListOptions{Filters: f})
		for _, c := range cs {
			top, err := cli.ContainerTop(ctx, c.ID, nil)
			if err == nil && slices.ContainsFunc(top.Processes, func(p []string) bool {
				return strings.Contains(strings.Join(p, " "), marker)
			}) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no container ran %q", marker)
}

// instanceContainers lists the running instance containers of the engine
// (sorted IDs), build and one-off containers aside.
func instanceContainers(t *testing.T, cli *client.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "paas.managed=true"), filters.Arg("label", "paas.type=web"))})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, fmt.Sprintf("%s:%s", c.Labels["paas.app"], c.ID[:12]))
	}
	slices.Sort(ids)
	return ids
}
