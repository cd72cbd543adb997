package addons

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
)

// service is a service a test created, destroyed at the test's end.
type service struct {
	env      *testEnv
	name     string
	engine   string
	password string
	version  string
}

// createService creates a service of engine for the test.
func createService(t *testing.T, env *testEnv, engine string) *service {
	t.Helper()
	s := &service{env: env, name: randomName("t-" + engine), engine: engine, password: NewPassword()}
	t.Cleanup(func() {
		if err := env.d.Destroy(context.Background(), s.name); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	start := time.Now()
	svc, err := env.d.Create(t.Context(), s.name, engine, s.password, env.out)
	if err != nil {
		t.Fatalf("Create: %v\n%s", err, env.out)
	}
	t.Logf("created %s %s in %v", engine, svc.Version, time.Since(start).Round(time.Millisecond))
	if want := (Service{Version: svc.Version, Host: s.name, Port: engines[engine].port, User: engines[engine].firstUser}); svc != want {
		t.Errorf("Create = %+v, want %+v", svc, want)
	}
	s.version = svc.Version
	return s
}

// appNetwork attaches s to a new app's network and returns the app and
// the network; the network is removed at the test's end.
func (s *service) attachApp(t *testing.T) (app, net string) {
	t.Helper()
	app = randomName("app")
	net = "paas-addons-test-" + app
	removeNetwork(t, s.env.cli, net)
	if err := s.env.d.Attach(t.Context(), s.name, app); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	return app, net
}

// otherNetwork makes a bridge network no service is attached to.
func otherNetwork(t *testing.T, env *testEnv) string {
	t.Helper()
	net := "paas-addons-test-" + randomName("other")
	if _, err := env.cli.NetworkCreate(t.Context(), net, network.CreateOptions{Driver: network.NetworkBridge, Labels: map[string]string{"paas.test": "true"}}); err != nil {
		t.Fatal(err)
	}
	removeNetwork(t, env.cli, net)
	return net
}

// runClient runs cmd in a container of image on network net, as the
// clients of an attached app would, and returns its exit code and
// output.
func runClient(t *testing.T, env *testEnv, image, net string, cmd ...string) (int, string) {
	t.Helper()
	ctx := t.Context()
	c, err := env.cli.ContainerCreate(ctx,
		&container.Config{Image: image, Cmd: cmd, User: "1000:1000", Labels: map[string]string{"paas.test": "true"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(net)}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer env.cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	waitC, errC := env.cli.ContainerWait(ctx, c.ID, container.WaitConditionNextExit)
	if err := env.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	var code int
	select {
	case w := <-waitC:
		code = int(w.StatusCode)
	case err := <-errC:
		t.Fatal(err)
	}
	rc, err := env.cli.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out strings.Builder
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// checkConfined checks that s's container runs as an unprivileged user
// with no capabilities and no new privileges, with limits, on no network
// but idleNetwork and those it was attached to, publishing nothing, and
// that the password is in neither its command nor its environment.
func checkConfined(t *testing.T, s *service) {
	t.Helper()
	env := s.env
	insp, err := env.cli.ContainerInspect(t.Context(), containerName(s.name))
	if err != nil {
		t.Fatal(err)
	}
	hc := insp.HostConfig
	if hc.PidsLimit == nil || *hc.PidsLimit != defaultPidsLimit || hc.Memory != 256<<20 {
		t.Errorf("limits: pids %v, memory %d", hc.PidsLimit, hc.Memory)
	}
	if len(hc.PortBindings) > 0 || hc.PublishAllPorts {
		t.Errorf("ports published: %v", hc.PortBindings)
	}
	if hc.RestartPolicy.Name != container.RestartPolicyUnlessStopped {
		t.Errorf("restart policy %q", hc.RestartPolicy.Name)
	}
	if string(hc.NetworkMode) != idleNetwork {
		t.Errorf("network mode %q", hc.NetworkMode)
	}
	for _, s2 := range append(append([]string{}, insp.Config.Env...), append(insp.Config.Cmd, insp.Config.Entrypoint...)...) {
		if strings.Contains(s2, s.password) {
			t.Errorf("password in the container's config: %q", s2)
		}
	}
	vol, err := env.cli.VolumeInspect(t.Context(), volumeName(s.name))
	if err != nil {
		t.Fatal(err)
	}
	if l := vol.Labels; l[LabelAddon] != s.name || l[LabelEngine] != s.engine || l[labelOwner] != env.d.cfg.Owner {
		t.Errorf("volume labels %v", l)
	}
	if l := insp.Config.Labels; l[LabelAddon] != s.name || l[LabelEngine] != s.engine || l[labelManaged] != "true" || l[labelOwner] != env.d.cfg.Owner {
		t.Errorf("labels %v", l)
	}
	code, out, err := env.d.exec(t.Context(), insp.ID, "", nil, []string{"cat", "/proc/1/status"})
	if err != nil || code != 0 {
		t.Fatalf("reading the service's status: %d %v %s", code, err, out)
	}
	for _, want := range []string{`(?m)^CapEff:\s+0000000000000000$`, `(?m)^CapPrm:\s+0000000000000000$`, `(?m)^CapBnd:\s+0000000000000000$`, `(?m)^NoNewPrivs:\s+1$`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("service's status lacks %s:\n%s", want, out)
		}
	}
	if m := regexp.MustCompile(`(?m)^Uid:\s+([0-9]+)`).FindStringSubmatch(out); m == nil || m[1] == "0" {
		t.Errorf("service runs as root:\n%s", out)
	}
}

// checkDestroyed destroys s and checks that its container and volume are
// gone, and that destroying again is fine.
func checkDestroyed(t *testing.T, s *service) {
	t.Helper()
	env := s.env
	if names, err := env.d.Names(t.Context()); err != nil || !slices.Contains(names, s.name) {
		t.Errorf("Names before Destroy: %v, %v; want %s among them", names, err, s.name)
	}
	if err := env.d.Destroy(t.Context(), s.name); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if names, err := env.d.Names(t.Context()); err != nil || slices.Contains(names, s.name) {
		t.Errorf("Names after Destroy: %v, %v", names, err)
	}
	if _, err := env.cli.ContainerInspect(t.Context(), containerName(s.name)); !cerrdefs.IsNotFound(err) {
		t.Errorf("container after Destroy: %v", err)
	}
	if _, err := env.cli.VolumeInspect(t.Context(), volumeName(s.name)); !cerrdefs.IsNotFound(err) {
		t.Errorf("volume after Destroy: %v", err)
	}
	if err := env.d.Destroy(t.Context(), s.name); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	st, err := env.d.Status(t.Context(), s.name)
	if err != nil || st.State != StateMissing {
		t.Errorf("Status after Destroy: %+v, %v", st, err)
	}
}

// cleanStop is what each engine logs when it shuts down cleanly.
var cleanStop = map[string]*regexp.Regexp{
	Postgres: regexp.MustCompile(`received fast shutdown request(?s:.*)database system is shut down`),
	Redis:    regexp.MustCompile(`Received SIGTERM scheduling shutdown(?s:.*)ready to exit, bye bye`),
}

// restart restarts s's container with the engine's stop signal and waits
// until it is ready; the service shut down cleanly.
func (s *service) restart(t *testing.T) {
	t.Helper()
	env := s.env
	if err := env.cli.ContainerRestart(t.Context(), containerName(s.name), container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	insp, err := env.cli.ContainerInspect(t.Context(), containerName(s.name))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.d.waitReady(t.Context(), insp.ID, engines[s.engine], s.password); err != nil {
		t.Fatal(err)
	}
	rc, err := env.cli.ContainerLogs(t.Context(), insp.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var logs strings.Builder
	if _, err := stdcopy.StdCopy(&logs, &logs, rc); err != nil {
		t.Fatal(err)
	}
	if !cleanStop[s.engine].MatchString(logs.String()) {
		t.Errorf("no clean shutdown (%s) in the service's log:\n%s", cleanStop[s.engine], logs.String())
	}
}

// checkStopped stops s's container and checks that Status says so.
func checkStopped(t *testing.T, s *service) {
	t.Helper()
	if err := s.env.cli.ContainerStop(t.Context(), containerName(s.name), container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := s.env.d.Status(t.Context(), s.name)
	if err != nil || st.State != StateStopped || st.DiskBytes != -1 || st.Version != s.version {
		t.Errorf("Status of a stopped service: %+v, %v", st, err)
	}
}

// checkStatus checks that s is up with its version and some data.
func checkStatus(t *testing.T, s *service) {
	t.Helper()
	st, err := s.env.d.Status(t.Context(), s.name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != s.name || st.Engine != s.engine || st.Version != s.version || st.State != StateUp || st.DiskBytes <= 0 {
		t.Errorf("Status: %+v", st)
	}
}

func TestPostgres(t *testing.T) {
	env := testDocker(t)
	s := createService(t, env, Postgres)
	if !strings.HasPrefix(s.version, "15.") {
		t.Errorf("version %q", s.version)
	}
	checkStatus(t, s)
	checkConfined(t, s)
	image := engines[Postgres].image
	// The password Create wrote for initdb is gone once it was used.
	if code, out, err := env.d.exec(t.Context(), containerName(s.name), "", nil, []string{"ls", "-A", dataDir}); err != nil || code != 0 || strings.TrimSpace(out) != "pgdata" {
		t.Errorf("data volume holds: %d %v %q", code, err, out)
	}

	app, net := s.attachApp(t)
	if err := env.d.Attach(t.Context(), s.name, app); err != nil {
		t.Fatalf("second Attach: %v", err)
	}
	url := URL(Postgres, "app", s.password, s.name, 5432)
	psql := func(net, url, sql string) (int, string) {
		return runClient(t, env, image, net, "psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, url+"?connect_timeout=3")
	}
	if code, out := psql(net, url, "select 1"); code != 0 || strings.TrimSpace(out) != "1" {
		t.Fatalf("select 1 through the URL: %d %s", code, out)
	}
	if code, out := psql(net, url, "select rolsuper from pg_roles where rolname = current_user"); code != 0 || strings.TrimSpace(out) != "f" {
		t.Errorf("app is a superuser: %d %s", code, out)
	}
	if code, out := psql(net, URL(Postgres, "app", NewPassword(), s.name, 5432), "select 1"); code == 0 || !strings.Contains(out, "password authentication failed") {
		t.Errorf("a wrong password: %d %s", code, out)
	}

	other := otherNetwork(t, env)
	if code, out := psql(other, url, "select 1"); code == 0 {
		t.Errorf("reached from another network by name: %s", out)
	}
	insp, err := env.cli.ContainerInspect(t.Context(), containerName(s.name))
	if err != nil {
		t.Fatal(err)
	}
	ip := insp.NetworkSettings.Networks[net].IPAddress
	if code, out := psql(other, "postgres://app:"+s.password+"@"+ip+":5432/app", "select 1"); code == 0 {
		t.Errorf("reached from another network at %s: %s", ip, out)
	}

	if code, out := psql(net, url, "create table t (v text); insert into t values ('kept')"); code != 0 {
		t.Fatalf("writing: %d %s", code, out)
	}
	s.restart(t)
	if code, out := psql(net, url, "select v from t"); code != 0 || strings.TrimSpace(out) != "kept" {
		t.Errorf("after a restart: %d %s", code, out)
	}

	if err := env.d.Detach(t.Context(), s.name, app); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if err := env.d.Detach(t.Context(), s.name, app); err != nil {
		t.Fatalf("second Detach: %v", err)
	}
	if code, out := psql(net, url, "select 1"); code == 0 {
		t.Errorf("reached after Detach: %s", out)
	}
	checkDestroyed(t, s)
}

func TestRedis(t *testing.T) {
	env := testDocker(t)
	s := createService(t, env, Redis)
	if !strings.HasPrefix(s.version, "7.") {
		t.Errorf("version %q", s.version)
	}
	checkStatus(t, s)
	checkConfined(t, s)
	image := engines[Redis].image

	app, net := s.attachApp(t)
	if err := env.d.Attach(t.Context(), s.name, app); err != nil {
		t.Fatalf("second Attach: %v", err)
	}
	url := URL(Redis, "default", s.password, s.name, 6379)
	cli := func(net, url string, args ...string) (int, string) {
		return runClient(t, env, image, net, append([]string{"redis-cli", "--no-auth-warning", "-u", url}, args...)...)
	}
	if code, out := cli(net, url, "ping"); code != 0 || strings.TrimSpace(out) != "PONG" {
		t.Fatalf("ping through the URL: %d %s", code, out)
	}
	if code, out := cli(net, URL(Redis, "default", NewPassword(), s.name, 6379), "ping"); strings.TrimSpace(out) == "PONG" || !strings.Contains(out, "WRONGPASS") {
		t.Errorf("a wrong password: %d %s", code, out)
	}
	other := otherNetwork(t, env)
	if code, out := cli(other, url, "ping"); strings.Contains(out, "PONG") {
		t.Errorf("reached from another network: %d %s", code, out)
	}
	if code, out := cli(net, url, "set", "k", "kept"); code != 0 || strings.TrimSpace(out) != "OK" {
		t.Fatalf("set: %d %s", code, out)
	}
	s.restart(t)
	if code, out := cli(net, url, "get", "k"); code != 0 || strings.TrimSpace(out) != "kept" {
		t.Errorf("after a restart: %d %s", code, out)
	}
	if err := env.d.Detach(t.Context(), s.name, app); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if code, out := cli(net, url, "ping"); strings.Contains(out, "PONG") {
		t.Errorf("reached after Detach: %d %s", code, out)
	}
	checkStopped(t, s)
	checkDestroyed(t, s)
}
