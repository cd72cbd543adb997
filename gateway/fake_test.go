package gateway

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"paas"
	"paas/logs"
	"paas/runtime"
)

// fakePlatform is an in-memory Platform for the gateway's tests.
type fakePlatform struct {
	mu         sync.Mutex
	keys       map[string]string   // fingerprint -> name
	keyOptions map[string][]string // fingerprint -> authorized_keys options
	apps       map[string]*paas.App
	rolledBack []int
	restarted  []string
	config     map[string]map[string]string
	releases   map[string][]paas.Release
	builds     map[string][]paas.Build
	procs      map[string][]paas.Process
	deploys    []fakeDeploy
	kept       int // app locks handed to the gateway and not yet released
	scaled     []map[string]int
	logsCalls  []logsCall
	// logsQueries and logsFormats are the full arguments of each Logs call.
	logsQueries []logs.Query
	logsFormats []logs.Format
	runs        []runCall
	// gate, when set, is waited on by Deploy after it wrote "step one".
	gate chan struct{}
	// follow, when set, feeds a following Logs call its lines.
	follow chan string
}

type fakeDeploy struct {
	App, Commit, By string
	Files           map[string]string
}

type logsCall struct {
	App    string
	N      int
	Proc   string
	Follow bool
}

type runCall struct {
	App, By  string
	Argv     []string
	Stdio    runtime.Stdio
	Detached bool
}

func newFakePlatform() *fakePlatform {
	return &fakePlatform{
		keys:       map[string]string{},
		keyOptions: map[string][]string{},
		apps:       map[string]*paas.App{},
		config:     map[string]map[string]string{},
		releases:   map[string][]paas.Release{},
		procs:      map[string][]paas.Process{},
	}
}

func notFound(app string) error {
	return &paas.Error{Msg: fmt.Sprintf("app %s not found", app), Err: paas.ErrAppNotFound}
}

func (f *fakePlatform) Authenticate(fp string) (paas.Key, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, ok := f.keys[fp]
	return paas.Key{Name: name, Fingerprint: fp, Options: f.keyOptions[fp]}, ok
}

func (f *fakePlatform) ListApps(ctx context.Context) ([]paas.App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []paas.App
	for _, a := range f.apps {
		out = append(out, *a)
	}
	return out, nil
}

func (f *fakePlatform) CreateApp(ctx context.Context, name, by string) (paas.App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[name]; ok {
		return paas.App{}, &paas.Error{Msg: "app " + name + " already exists", Err: paas.ErrAppExists}
	}
	a := &paas.App{Name: name, CreatedBy: by, CreatedAt: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), Formation: map[string]int{}}
	f.apps[name] = a
	f.config[name] = map[string]string{}
	return *a, nil
}

func (f *fakePlatform) EnsureApp(ctx context.Context, name, by string) (paas.App, error) {
	if a, err := f.App(ctx, name); err == nil {
		return a, nil
	}
	return f.CreateApp(ctx, name, by)
}

func (f *fakePlatform) App(ctx context.Context, name string) (paas.App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[name]
	if !ok {
		return paas.App{}, notFound(name)
	}
	return *a, nil
}

func (f *fakePlatform) DestroyApp(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[name]; !ok {
		return notFound(name)
	}
	delete(f.apps, name)
	f.detachAppAddons(name)
	return nil
}

func (f *fakePlatform) Config(ctx context.Context, app string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, notFound(app)
	}
	return maps.Clone(f.config[app]), nil
}

func (f *fakePlatform) SetConfig(ctx context.Context, app, by string, set map[string]string, unset []string, out io.Writer) (paas.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return paas.Release{}, notFound(app)
	}
	var missing []string
	for _, k := range unset {
		if _, ok := f.config[app][k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(set) == 0 && len(missing) == len(unset) {
		return paas.Release{}, &paas.Error{Msg: strings.Join(missing, ", ") + " not set on " + app + ": nothing changed", Err: paas.ErrUnchanged}
	}
	maps.Copy(f.config[app], set)
	for _, k := range unset {
		delete(f.config[app], k)
	}
	return f.newReleaseLocked(a, "Config change", by), nil
}

func (f *fakePlatform) newReleaseLocked(a *paas.App, desc, by string) paas.Release {
	a.Release++
	r := paas.Release{App: a.Name, Version: a.Release, Description: desc, CreatedBy: by,
		CreatedAt: time.Date(2026, 11, 26, 10, 0, a.Release, 0, time.UTC), Config: maps.Clone(f.config[a.Name])}
	f.releases[a.Name] = append(f.releases[a.Name], r)
	return r
}

func (f *fakePlatform) RenameApp(ctx context.Context, old, new, by string, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[old]
	if !ok {
		return notFound(old)
	}
	if _, ok := f.apps[new]; ok {
		return paas.Errorf("app %s already exists: choose a free name", new)
	}
	delete(f.apps, old)
	a.Name = new
	f.apps[new] = a
	return nil
}

func (f *fakePlatform) Builds(ctx context.Context, app string) ([]paas.Build, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, notFound(app)
	}
	return slices.Clone(f.builds[app]), nil
}

func (f *fakePlatform) Releases(ctx context.Context, app string) ([]paas.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, notFound(app)
	}
	return slices.Clone(f.releases[app]), nil
}

func (f *fakePlatform) Processes(ctx context.Context, app string) ([]paas.Process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, notFound(app)
	}
	return slices.Clone(f.procs[app]), nil
}

func (f *fakePlatform) Scale(ctx context.Context, app string, counts map[string]int, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return notFound(app)
	}
	maps.Copy(a.Formation, counts)
	f.scaled = append(f.scaled, maps.Clone(counts))
	return nil
}

func (f *fakePlatform) Rollback(ctx context.Context, app, by string, version int, force bool, out io.Writer) (paas.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return paas.Release{}, notFound(app)
	}
	f.rolledBack = append(f.rolledBack, version)
	desc := fmt.Sprintf("Rollback to v%d", version)
	if force {
		desc += " (forced)"
	}
	return paas.Release{App: app, Version: 99, Description: desc}, nil
}

func (f *fakePlatform) Restart(ctx context.Context, app, target string, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return notFound(app)
	}
	f.restarted = append(f.restarted, target)
	return nil
}

func (f *fakePlatform) SetStopped(ctx context.Context, app, typ string, stopped bool, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return notFound(app)
	}
	if stopped {
		a.Formation[typ] = 0
	} else {
		a.Formation[typ] = 1
	}
	return nil
}

func (f *fakePlatform) SetMaintenance(ctx context.Context, app string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return notFound(app)
	}
	a.Maintenance = on
	return nil
}

func (f *fakePlatform) SetBuilder(ctx context.Context, app, builder string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return notFound(app)
	}
	if builder == paas.BuilderAuto {
		builder = ""
	}
	a.Builder = builder
	return nil
}

func (f *fakePlatform) SetStopTimeout(ctx context.Context, app string, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return notFound(app)
	}
	a.StopTimeout = d
	return nil
}

func (f *fakePlatform) SetLimits(ctx context.Context, app, typ string, l paas.Limits, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return notFound(app)
	}
	if a.Limits == nil {
		a.Limits = map[string]paas.Limits{}
	}
	a.Limits[typ] = l
	return nil
}

// Run understands a few commands: "cat" copies stdin to stdout, "exit N"
// returns N, "echo ARGS" prints them, "tty" reports the TTY settings.
func (f *fakePlatform) RunDetached(ctx context.Context, app, by string, argv []string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return "", notFound(app)
	}
	f.runs = append(f.runs, runCall{App: app, By: by, Argv: argv, Detached: true})
	return "run.4242", nil
}

func (f *fakePlatform) Run(ctx context.Context, app, by string, argv []string, stdio runtime.Stdio) (int, error) {
	f.mu.Lock()
	_, ok := f.apps[app]
	f.runs = append(f.runs, runCall{App: app, By: by, Argv: argv, Stdio: stdio})
	f.mu.Unlock()
	if !ok {
		return 0, notFound(app)
	}
	switch argv[0] {
	case "cat":
		_, err := io.Copy(stdio.Stdout, stdio.Stdin)
		return 0, err
	case "exit":
		if len(argv) != 2 {
			return 0, paas.Errorf("usage: exit N")
		}
		return strconv.Atoi(argv[1])
	case "echo":
		fmt.Fprintf(stdio.Stdout, "%q\n", argv[1:])
		return 0, nil
	case "tty":
		fmt.Fprintf(stdio.Stdout, "tty=%v term=%s cols=%d rows=%d\n", stdio.TTY, stdio.Term, stdio.Window.Cols, stdio.Window.Rows)
		return 0, nil
	}
	return 127, nil
}

// Logs writes one line; when following and f.follow is set, it then
// writes each line sent on f.follow until it is closed.
func (f *fakePlatform) Logs(ctx context.Context, app string, q logs.Query, format logs.Format, w io.Writer) error {
	f.mu.Lock()
	if _, ok := f.apps[app]; !ok {
		f.mu.Unlock()
		return notFound(app)
	}
	f.logsCalls = append(f.logsCalls, logsCall{app, q.N, q.Proc, q.Follow})
	f.logsQueries = append(f.logsQueries, q)
	f.logsFormats = append(f.logsFormats, format)
	follow := f.follow
	f.mu.Unlock()
	fmt.Fprintln(w, "app[web.1]: hello")
	if !q.Follow || follow == nil {
		return nil
	}
	for {
		select {
		case line, ok := <-follow:
			if !ok {
				return nil
			}
			fmt.Fprintln(w, line)
		case <-ctx.Done():
			return nil
		}
	}
}

// Deploy reads the tar, records its regular files and fails when the tree
// has a file named FAIL (its content is the error message).
func (f *fakePlatform) Deploy(ctx context.Context, req DeployRequest) error {
	files := map[string]string{}
	tr := tar.NewReader(req.Source)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading source: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("reading source: %w", err)
		}
		files[h.Name] = string(b)
	}
	if req.Check != nil {
		if err := req.Check(); err != nil {
			return err
		}
	}
	fmt.Fprintln(req.Out, "-----> step one")
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-time.After(20 * time.Second):
			return paas.Errorf("output was not seen live by the pusher")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if msg, ok := files["FAIL"]; ok {
		fmt.Fprintln(req.Out, "-----> build failed")
		return paas.Errorf("%s", msg)
	}
	fmt.Fprintln(req.Out, "-----> step two")
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[req.App]
	if !ok {
		return notFound(req.App)
	}
	f.deploys = append(f.deploys, fakeDeploy{App: req.App, Commit: req.Commit, By: req.By, Files: files})
	f.newReleaseLocked(a, "Deploy "+req.Commit[:7], req.By)
	if req.Keep != nil {
		f.kept++
		req.Keep(func() { f.mu.Lock(); f.kept--; f.mu.Unlock() })
	}
	return nil
}

func (f *fakePlatform) deployList() []fakeDeploy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.deploys)
}
