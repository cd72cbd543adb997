package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"paas"
	"paas/internal/syncbuf"
	"paas/logs"
	"paas/runtime"
	"paas/store"
)

// fakeProvisioner stands in for the Docker engine's backing services: it
// keeps each service's engine, credentials, data and attached apps.
type fakeProvisioner struct {
	mu       sync.Mutex
	services map[string]*fakeService
	calls    []string
	// failCreate, when set, makes Create fail quoting the password, as a
	// careless engine message might.
	failCreate bool
	// failBackup makes Backup write part of a dump, then fail.
	failBackup bool
	// failAddCredential makes AddCredential fail.
	failAddCredential bool
	// backedUp receives the name of each service Backup finished.
	backedUp chan string
}

type fakeService struct {
	engine string
	// logins holds user+" "+password for each credential that logs in.
	logins map[string]bool
	apps   map[string]bool
	data   string
	lines  []string
}

// Create starts a service whose first user logs in with password.
func (f *fakeProvisioner) Create(ctx context.Context, name, engine, password string, out io.Writer) (AddonService, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "create "+name)
	if f.failCreate {
		return AddonService{}, fmt.Errorf("initdb refused the password %s", password)
	}
	if _, ok := f.services[name]; ok {
		return AddonService{}, fmt.Errorf("container paas.addon.%s exists", name)
	}
	user := map[string]string{"postgres": "app", "redis": "default"}[engine]
	f.services[name] = &fakeService{engine: engine, logins: map[string]bool{user + " " + password: true}, apps: map[string]bool{}}
	fmt.Fprintf(out, "       %s is up\n", name)
	return AddonService{
		Version: map[string]string{"postgres": "15.10", "redis": "7.0.15"}[engine],
		Host:    name,
		Port:    map[string]int{"postgres": 5432, "redis": 6379}[engine],
		User:    user,
	}, nil
}

func (f *fakeProvisioner) service(name string) (*fakeService, error) {
	svc, ok := f.services[name]
	if !ok {
		return nil, fmt.Errorf("no service %s", name)
	}
	return svc, nil
}

func (f *fakeProvisioner) Connect(ctx context.Context, name, user, password string, stdio runtime.Stdio) (int, error) {
	f.mu.Lock()
	svc, err := f.service(name)
	ok := err == nil && svc.logins[user+" "+password]
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if !ok {
		fmt.Fprintln(stdio.Stderr, "password authentication failed")
		return 2, nil
	}
	in, _ := io.ReadAll(stdio.Stdin)
	fmt.Fprintf(stdio.Stdout, "%s ran %q (tty %v)\n", user, in, stdio.TTY)
	return 0, nil
}

func (f *fakeProvisioner) Backup(ctx context.Context, name string, w io.Writer) error {
	f.mu.Lock()
	svc, err := f.service(name)
	fail := f.failBackup
	var dump string
	if err == nil {
		dump = "DUMP " + svc.engine + "\n" + svc.data
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if fail {
		io.WriteString(w, dump[:5])
		return errors.New("pg_dump: connection lost")
	}
	if _, err := io.WriteString(w, dump); err != nil {
		return err
	}
	if f.backedUp != nil {
		f.backedUp <- name
	}
	return nil
}

func (f *fakeProvisioner) Restore(ctx context.Context, name string, r io.Reader) error {
	in, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, err := f.service(name)
	if err != nil {
		return err
	}
	head, data, ok := strings.Cut(string(in), "\n")
	if !ok || head != "DUMP "+svc.engine {
		return paas.Errorf("not a %s dump: make one with addons:backup", svc.engine)
	}
	svc.data = data
	return nil
}

func (f *fakeProvisioner) AddCredential(ctx context.Context, name, user, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "add-credential "+name+" "+user)
	if f.failAddCredential {
		return fmt.Errorf("ALTER ROLE %s PASSWORD '%s' failed", user, password)
	}
	svc, err := f.service(name)
	if err != nil {
		return err
	}
	svc.logins[user+" "+password] = true
	return nil
}

func (f *fakeProvisioner) RemoveCredential(ctx context.Context, name, user, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "remove-credential "+name+" "+user)
	svc, err := f.service(name)
	if err != nil {
		return err
	}
	delete(svc.logins, user+" "+password)
	return nil
}

func (f *fakeProvisioner) Logs(ctx context.Context, name string, n int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, err := f.service(name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(svc.lines[max(0, len(svc.lines)-n):]), nil
}

// logsIn reports whether user/password logs in to service name.
func (f *fakeProvisioner) logsIn(name, user, password string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, ok := f.services[name]
	return ok && svc.logins[user+" "+password]
}

func (f *fakeProvisioner) Attach(ctx context.Context, name, app string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "attach "+name+" "+app)
	svc, ok := f.services[name]
	if !ok {
		return fmt.Errorf("no service %s", name)
	}
	svc.apps[app] = true
	return nil
}

func (f *fakeProvisioner) Detach(ctx context.Context, name, app string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "detach "+name+" "+app)
	if svc, ok := f.services[name]; ok {
		delete(svc.apps, app)
	}
	return nil
}

func (f *fakeProvisioner) Destroy(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "destroy "+name)
	delete(f.services, name)
	return nil
}

func (f *fakeProvisioner) Status(ctx context.Context, name string) (AddonStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, ok := f.services[name]
	if !ok {
		return AddonStatus{State: "missing", DiskBytes: -1}, nil
	}
	return AddonStatus{Version: map[string]string{"postgres": "15.10", "redis": "7.0.15"}[svc.engine], State: "up", DiskBytes: 4096}, nil
}

// attached returns the apps whose network service name is on.
func (f *fakeProvisioner) Names(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.services)), nil
}

func (f *fakeProvisioner) attached(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if svc, ok := f.services[name]; ok {
		return slices.Sorted(maps.Keys(svc.apps))
	}
	return nil
}

func (f *fakeProvisioner) exists(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.services[name]
	return ok
}

func (f *fakeProvisioner) nCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// withAddons wires a fake provisioner and the URL rules of package addons
// into h; passwords are numbered so that tests can find them.
func withAddons(h *harness) *fakeProvisioner {
	f := &fakeProvisioner{services: map[string]*fakeService{}}
	n := 0
	var mu sync.Mutex
	h.svc.cfg.Addons = f
	h.svc.cfg.AddonEngines = []string{"postgres", "redis"}
	h.svc.cfg.AddonVar = func(engine string) string {
		return map[string]string{"postgres": "DATABASE_URL", "redis": "REDIS_URL"}[engine]
	}
	h.svc.cfg.AddonURL = func(engine, user, password, host string, port int) string {
		if engine == "redis" {
			return fmt.Sprintf("redis://%s:%s@%s:%d", user, password, host, port)
		}
		return fmt.Sprintf("postgres://%s:%s@%s:%d/app", user, password, host, port)
	}
	h.svc.cfg.AddonNextUser = func(engine, user string) string {
		if engine == "redis" {
			return user
		}
		n := 1
		if _, num, ok := strings.Cut(user, "_"); ok {
			n, _ = strconv.Atoi(num)
		}
		return fmt.Sprintf("app_%d", n+1)
	}
	h.svc.cfg.NewPassword = func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("pw%02d-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c", n)
	}
	return f
}

// TestAddonLifecycle creates, attaches, detaches and destroys add-ons on
// an app with a release phase, checking each config var, release and
// refusal, and that no password reaches a log line.
func TestAddonLifecycle(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	f := withAddons(h)
	slogOut := &syncbuf.Buffer{}
	h.svc.log = slog.New(slog.NewTextHandler(slogOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	const app = "adsy"
	mark := filepath.Join(t.TempDir(), "release-saw")
	if _, err := h.svc.EnsureApp(ctx, app, "tester"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SetConfig(ctx, app, "tester", map[string]string{"MARK": mark}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	// The release phase records the URL it saw, and fails while a redis
	// is attached as REDIS_URL.
	files := map[string]string{
		"Procfile":        webProc + "release: echo \"$DATABASE_URL\" > \"$MARK\"; test -z \"$REDIS_URL\"\n",
		"site/index.html": "ok",
	}
	if err := h.deploy(app, files); err != nil {
		t.Fatal(err)
	}

	var out strings.Builder
	a, rel, err := h.svc.CreateAddon(ctx, app, "postgres", "", "", "alice", &out)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out.String())
	}
	url := "postgres://app:pw01-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c@adsy-postgres:5432/app"
	if a.Name != "adsy-postgres" || a.Version != "15.10" || a.State != "up" || !maps.Equal(a.Attachments, map[string]string{app: "DATABASE_URL"}) || rel.Version != 2 {
		t.Fatalf("created %+v in %s", a, rel.Name())
	}
	if cfg, _ := h.svc.Config(ctx, app); cfg["DATABASE_URL"] != url {
		t.Fatalf("config after create: %v", cfg)
	}
	if saw, _ := os.ReadFile(mark); string(saw) != url+"\n" {
		t.Fatalf("the release phase saw %q", saw)
	}
	if ps := h.ps(app); ps["web.1"].Release != 2 {
		t.Fatalf("web.1 runs v%d after create, want v2", ps["web.1"].Release)
	}
	if got := f.attached("adsy-postgres"); !slices.Equal(got, []string{app}) {
		t.Fatalf("service attached to %v", got)
	}
	if !strings.Contains(out.String(), "adsy-postgres is up") {
		t.Fatalf("create output:\n%s", out.String())
	}
	// A platform line quoting the bare password (an engine's error
	// text) has it masked.
	h.svc.event(app, "engine said: bad password pw01-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c")

	// The var is the add-on's: config:set and config:unset leave it.
	for _, c := range []struct {
		set   map[string]string
		unset []string
	}{{map[string]string{"DATABASE_URL": "postgres://elsewhere"}, nil}, {nil, []string{"DATABASE_URL"}}} {
		_, err := h.svc.SetConfig(ctx, app, "alice", c.set, c.unset, io.Discard)
		if msg, _ := paas.UserMessage(err); msg != "DATABASE_URL is the URL of add-on adsy-postgres: detach it with addons:detach adsy-postgres adsy" {
			t.Fatalf("changing the add-on's var: %v", err)
		}
	}
	if cfg, _ := h.svc.Config(ctx, app); cfg["DATABASE_URL"] != url {
		t.Fatalf("config after a refused change: %v", cfg)
	}

	// The next default name, under another var.
	a2, rel, err := h.svc.CreateAddon(ctx, app, "postgres", "", "ANALYTICS", "alice", io.Discard)
	if err != nil || a2.Name != "adsy-postgres-2" || a2.Attachments[app] != "ANALYTICS_URL" || rel.Version != 3 {
		t.Fatalf("second create: %+v %s %v", a2, rel.Name(), err)
	}

	// Refusals: one line, nothing provisioned, no release.
	calls := f.nCalls()
	for _, c := range []struct {
		app, engine, name, as, want string
	}{
		{app, "postgres", "", "", "adsy already has DATABASE_URL set: choose another name with --as"},
		{app, "mysql", "", "", `unknown engine "mysql": use postgres or redis`},
		{app, "postgres", "adsy-postgres", "OTHER", "an add-on named adsy-postgres already exists"},
		{app, "postgres", "Bad_Name", "OTHER", `invalid add-on name "Bad_Name"`},
		{app, "postgres", "", "9LIVES", `invalid --as "9LIVES"`},
		{"nope", "postgres", "", "", "app nope not found"},
	} {
		_, _, err := h.svc.CreateAddon(ctx, c.app, c.engine, c.name, c.as, "alice", io.Discard)
		if msg, ok := paas.UserMessage(err); !ok || !strings.HasPrefix(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("create %+v: %v, want %q", c, err, c.want)
		}
	}
	if f.nCalls() != calls {
		t.Fatalf("a refused create reached the engine: %v", f.calls[calls:])
	}
	if rels, _ := h.svc.Releases(ctx, app); len(rels) != 3 {
		t.Fatalf("%d releases after refusals, want 3", len(rels))
	}

	// A provisioning failure stores nothing; its message hides the
	// password.
	f.failCreate = true
	_, _, err = h.svc.CreateAddon(ctx, app, "redis", "", "", "alice", io.Discard)
	f.failCreate = false
	if err == nil || strings.Contains(err.Error(), "pw03") || !strings.Contains(err.Error(), "initdb refused the password ***") {
		t.Fatalf("failed provisioning: %v", err)
	}
	if _, err := h.svc.cfg.Store.Addon("adsy-redis"); !errors.Is(err, store.ErrAddonNotFound) {
		t.Fatalf("a failed create was stored: %v", err)
	}

	// A release failing after provisioning destroys the service and
	// leaves the config as it was.
	_, rel, err = h.svc.CreateAddon(ctx, app, "redis", "", "", "alice", io.Discard)
	if msg, _ := paas.UserMessage(err); !strings.Contains(msg, "release phase failed") {
		t.Fatalf("create with a failing release phase: %v", err)
	}
	if f.exists("adsy-redis") {
		t.Fatal("the service of a failed create was kept")
	}
	if _, err := h.svc.cfg.Store.Addon("adsy-redis"); !errors.Is(err, store.ErrAddonNotFound) {
		t.Fatalf("a failed create was stored: %v", err)
	}
	if cfg, _ := h.svc.Config(ctx, app); cfg["REDIS_URL"] != "" {
		t.Fatalf("REDIS_URL set after a failed create")
	}
	if cur, _ := h.svc.App(ctx, app); cur.Release != 3 {
		t.Fatalf("current release v%d after a failed create, want v3", cur.Release)
	}

	// Attach to a second app (no release yet: the var is set at once).
	if _, err := h.svc.EnsureApp(ctx, "adsy-two", "tester"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.AttachAddon(ctx, "adsy-postgres", "adsy-two", "", "bob", io.Discard); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := h.svc.Config(ctx, "adsy-two"); cfg["DATABASE_URL"] != url {
		t.Fatalf("second app's config: %v", cfg)
	}
	if _, _, err := h.svc.AttachAddon(ctx, "adsy-postgres", "adsy-two", "OTHER", "bob", io.Discard); err == nil || err.Error() != "adsy-postgres is already attached to adsy-two as DATABASE_URL" {
		t.Fatalf("attached twice: %v", err)
	}
	if _, _, err := h.svc.AttachAddon(ctx, "nope", "adsy-two", "", "bob", io.Discard); err == nil || err.Error() != "add-on nope not found" {
		t.Fatalf("unknown add-on: %v", err)
	}

	// Destroy is refused while attached, naming the apps.
	err = h.svc.DestroyAddon(ctx, "adsy-postgres", false, "bob", io.Discard)
	if err == nil || err.Error() != "adsy-postgres is attached to adsy (DATABASE_URL), adsy-two (DATABASE_URL): detach it first, or run again with --detach" {
		t.Fatalf("destroy while attached: %v", err)
	}
	if !f.exists("adsy-postgres") {
		t.Fatal("a refused destroy removed the service")
	}

	// Detach: the var is unset in a new release, the network left.
	key, rel, err := h.svc.DetachAddon(ctx, "adsy-postgres-2", app, "bob", io.Discard)
	if err != nil || key != "ANALYTICS_URL" || rel.Version != 5 {
		t.Fatalf("detach: %s %s %v", key, rel.Name(), err)
	}
	if cfg, _ := h.svc.Config(ctx, app); cfg["ANALYTICS_URL"] != "" || cfg["DATABASE_URL"] != url {
		t.Fatalf("config after detach: %v", cfg)
	}
	if got := f.attached("adsy-postgres-2"); len(got) != 0 {
		t.Fatalf("detached service still on %v", got)
	}
	if _, _, err := h.svc.DetachAddon(ctx, "adsy-postgres-2", app, "bob", io.Discard); err == nil || err.Error() != "adsy-postgres-2 is not attached to adsy" {
		t.Fatalf("detach twice: %v", err)
	}
	if err := h.svc.DestroyAddon(ctx, "adsy-postgres-2", false, "bob", io.Discard); err != nil {
		t.Fatal(err)
	}
	if f.exists("adsy-postgres-2") {
		t.Fatal("destroy left the service")
	}

	// Destroying an app detaches it; the add-on remains.
	if err := h.svc.DestroyApp(ctx, "adsy-two"); err != nil {
		t.Fatal(err)
	}
	if got := f.attached("adsy-postgres"); !slices.Equal(got, []string{app}) {
		t.Fatalf("after destroying adsy-two the service is on %v", got)
	}
	list, err := h.svc.Addons(ctx, "")
	if err != nil || len(list) != 1 || !maps.Equal(list[0].Attachments, map[string]string{app: "DATABASE_URL"}) {
		t.Fatalf("addons: %+v %v", list, err)
	}

	// Destroy with --detach unsets the var first.
	if err := h.svc.DestroyAddon(ctx, "adsy-postgres", true, "bob", io.Discard); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := h.svc.Config(ctx, app); cfg["DATABASE_URL"] != "" {
		t.Fatalf("DATABASE_URL after destroy --detach: %v", cfg)
	}
	if f.exists("adsy-postgres") {
		t.Fatal("destroy --detach left the service")
	}
	if list, _ := h.svc.Addons(ctx, ""); len(list) != 0 {
		t.Fatalf("addons after destroying all: %+v", list)
	}

	// No password or URL in the app's stream or the service's log.
	var text strings.Builder
	for _, l := range h.logs.Tail(app, -1, logs.Filter{}) {
		text.WriteString(l.String() + "\n")
	}
	for _, where := range []string{text.String(), slogOut.String()} {
		if strings.Contains(where, "0a1b2c3d4e5f") {
			t.Fatalf("a password was logged:\n%s", where)
		}
	}
	for _, want := range []string{"Add-on adsy-postgres (postgres 15.10) created by alice", "Add-on adsy-postgres attached as DATABASE_URL by alice", "Add-on adsy-postgres-2 detached (ANALYTICS_URL unset) by bob"} {
		if !strings.Contains(text.String(), want) {
			t.Fatalf("app stream lacks %q:\n%s", want, text.String())
		}
	}
}

// TestAddonsNeedAProvisioner: without one, every add-on operation answers
// one line and changes nothing.
func TestAddonsNeedAProvisioner(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	ctx := context.Background()
	if _, err := h.svc.EnsureApp(ctx, "noads", "tester"); err != nil {
		t.Fatal(err)
	}
	errs := []error{}
	_, err := h.svc.Addons(ctx, "")
	errs = append(errs, err)
	_, err = h.svc.AddonInfo(ctx, "x")
	errs = append(errs, err)
	_, _, err = h.svc.CreateAddon(ctx, "noads", "postgres", "", "", "t", io.Discard)
	errs = append(errs, err)
	_, _, err = h.svc.AttachAddon(ctx, "x", "noads", "", "t", io.Discard)
	errs = append(errs, err)
	_, _, err = h.svc.DetachAddon(ctx, "x", "noads", "t", io.Discard)
	errs = append(errs, err)
	errs = append(errs, h.svc.DestroyAddon(ctx, "x", true, "t", io.Discard))
	errs = append(errs, h.svc.RotateAddon(ctx, "x", "t", io.Discard))
	errs = append(errs, h.svc.BackupAddon(ctx, "x", "", io.Discard))
	errs = append(errs, h.svc.RestoreAddon(ctx, "x", "t", strings.NewReader("")))
	_, err = h.svc.ConnectAddon(ctx, "x", "t", runtime.Stdio{})
	errs = append(errs, err)
	_, err = h.svc.AddonBackups(ctx, "x")
	errs = append(errs, err)
	_, err = h.svc.CaptureAddonBackup(ctx, "x", "t")
	errs = append(errs, err)
	for i, err := range errs {
		if msg, _ := paas.UserMessage(err); msg != "this server runs no backing services" || !errors.Is(err, paas.ErrAddonsUnavailable) {
			t.Errorf("operation %d: %v", i, err)
		}
	}
	if cfg, _ := h.svc.Config(ctx, "noads"); len(cfg) != 0 {
		t.Fatalf("config changed: %v", cfg)
	}
	if err := h.svc.DestroyApp(ctx, "noads"); err != nil {
		t.Fatalf("destroying an app without add-ons: %v", err)
	}
}

// TestInterruptedAttachIsSettled: an attachment whose release was left
// pending by a stop of paasd is forgotten at the next start, and the
// service leaves the app's network.
func TestInterruptedAttachIsSettled(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	f := withAddons(h)
	ctx := context.Background()
	const app = "adsettle"
	if err := h.deploy(app, map[string]string{"Procfile": webProc, "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	st := h.svc.cfg.Store
	if _, err := st.CreateAddon(store.Addon{Name: "adsettle-db", Engine: "postgres", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Create(ctx, "adsettle-db", "postgres", "pw", io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := f.Attach(ctx, "adsettle-db", app); err != nil {
		t.Fatal(err)
	}
	// The attach made its pending release; paasd stopped there.
	if _, err := st.AttachAddon("adsettle-db", app, "DATABASE_URL", "postgres://app:pw@adsettle-db:5432/app", "t"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := st.Addon("adsettle-db")
	if err != nil || len(a.Attachments) != 0 {
		t.Fatalf("after start: %+v %v", a, err)
	}
	if got := f.attached("adsettle-db"); len(got) != 0 {
		t.Fatalf("service still on %v", got)
	}
	if cfg, _ := st.Config(app); cfg["DATABASE_URL"] != "" {
		t.Fatalf("config: %v", cfg)
	}
}

// TestConcurrentCreatesGetDistinctNames: creates racing for the default
// name each get their own.
func TestConcurrentCreatesGetDistinctNames(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	f := withAddons(h)
	ctx := context.Background()
	const app = "adrace"
	if _, err := h.svc.EnsureApp(ctx, app, "tester"); err != nil {
		t.Fatal(err)
	}
	const n = 4
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _, err := h.svc.CreateAddon(ctx, app, "redis", "", fmt.Sprintf("R%d", i), "t", io.Discard)
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			names[i] = a.Name
		}()
	}
	wg.Wait()
	slices.Sort(names)
	if want := []string{"adrace-redis", "adrace-redis-2", "adrace-redis-3", "adrace-redis-4"}; !slices.Equal(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	cfg, _ := h.svc.Config(ctx, app)
	for i := range n {
		if cfg[fmt.Sprintf("R%d_URL", i)] == "" {
			t.Fatalf("R%d_URL missing: %v", i, cfg)
		}
	}
	for _, name := range names {
		if !f.exists(name) {
			t.Fatalf("%s has no service", name)
		}
	}
}

// TestUnrecordedServiceIsSwept: a service an interrupted addons:create
// started but never recorded is removed at start; recorded ones stay.
func TestUnrecordedServiceIsSwept(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	f := withAddons(h)
	ctx := context.Background()
	st := h.svc.cfg.Store
	if _, err := st.CreateAddon(store.Addon{Name: "kept-db", Engine: "postgres", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kept-db", "lost-db"} {
		if _, err := f.Create(ctx, name, "postgres", "pw", io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if f.exists("lost-db") {
		t.Error("the unrecorded service survived the start")
	}
	if !f.exists("kept-db") {
		t.Error("a recorded service was removed at start")
	}
}
