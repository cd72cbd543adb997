package gateway

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"

	"paas"
)

// newTestServer returns a Server (not listening) on a fake platform with
// one app "web-app" that has config and two releases.
func newTestServer(t testing.TB) (*Server, *fakePlatform) {
	t.Helper()
	f := newFakePlatform()
	dir := t.TempDir()
	s, err := New(Config{
		Addr:        "127.0.0.1:0",
		HostKeyFile: filepath.Join(dir, "host_key"),
		ReposDir:    filepath.Join(dir, "repos"),
		RunDir:      filepath.Join(dir, "run"),
		HookCommand: []string{"/bin/false"},
		AppURL:      func(app string) string { return "https://" + app + ".example.test" },
		Platform:    f,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Date(2026, 11, 26, 10, 3, 0, 0, time.UTC) }
	ctx := context.Background()
	f.CreateApp(ctx, "web-app", "alice")
	f.SetConfig(ctx, "web-app", "alice", map[string]string{"B": "two words", "A": "plain", "E": ""}, nil, nil)
	f.SetConfig(ctx, "web-app", "bob", map[string]string{"C": "it's"}, nil, nil)
	f.procs["web-app"] = []paas.Process{
		{Name: "worker.1", Type: "worker", Index: 1, Release: 2, State: "up", Since: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), Command: "python3 worker.py"},
		{Name: "web.1", Type: "web", Index: 1, Release: 2, State: "up", Since: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), Command: "python3 app.py"},
	}
	return s, f
}

type result struct {
	status         int
	stdout, stderr string
}

func run(s *Server, args ...string) result {
	var out, errb bytes.Buffer
	st := s.dispatch(&request{ctx: context.Background(), by: "alice", user: user{name: "alice", admin: true}, args: args, stdin: strings.NewReader("input"), stdout: &out, stderr: &errb})
	return result{st, out.String(), errb.String()}
}

// TestAppsInfoFormation shows the formation that runs: the release's
// types, web=1 unless scaled, the release phase left out.
func TestAppsInfoFormation(t *testing.T) {
	s, f := newTestServer(t)
	f.mu.Lock()
	rels := f.releases["web-app"]
	rels[len(rels)-1].ProcessTypes = map[string]string{"web": "python3 app.py", "worker": "python3 worker.py", "release": "python3 migrate.py"}
	f.mu.Unlock()
	r := run(s, "apps:info", "web-app")
	if r.status != 0 || !strings.Contains(r.stdout, "formation:  web=1 worker=0\n") {
		t.Fatalf("apps:info: %+v", r)
	}
}

func TestCommandsOutput(t *testing.T) {
	s, _ := newTestServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"version"}, "paas " + paas.Version + "\n"},
		{[]string{"apps"}, "NAME     RELEASE  OWNER  URL\nweb-app  v2       alice  https://web-app.example.test\n"},
		{[]string{"config", "web-app"}, "A=plain\nB='two words'\nC='it'\\''s'\nE=''\n"},
		{[]string{"config", "web-app", "--shell"}, "export A=plain\nexport B='two words'\nexport C='it'\\''s'\nexport E=''\n"},
		{[]string{"config:get", "web-app", "B"}, "two words\n"},
		{[]string{"releases", "web-app"}, "RELEASE  STATUS     BY     CREATED                  DESCRIPTION\nv2       current    bob    2026-11-26 10:00:02 UTC  Config change\nv1       succeeded  alice  2026-11-26 10:00:01 UTC  Config change\n"},
		{[]string{"ps", "web-app"}, "NAME      STATE  SINCE   RELEASE  COMMAND\nweb.1     up     3m ago  v2       python3 app.py\nworker.1  up     3m ago  v2       python3 worker.py\n"},
		{[]string{"apps:info", "web-app"}, "name:       web-app\nurl:        https://web-app.example.test\nrelease:    v2\nformation:  none\ncreated:    2026-11-26 10:00:00 UTC by alice\n"},
		{[]string{"run", "web-app", "--", "echo", "-c", "print(1)"}, "[\"-c\" \"print(1)\"]\n"},
		{[]string{"run", "web-app", "cat"}, "input"},
	}
	for _, tt := range tests {
		r := run(s, tt.args...)
		if r.status != 0 || r.stderr != "" || r.stdout != tt.want {
			t.Errorf("%q: status %d, stderr %q, stdout\n%s\nwant\n%s", tt.args, r.status, r.stderr, r.stdout, tt.want)
		}
	}
	if r := run(s, "help"); r.status != 0 || !strings.Contains(r.stdout, "config:set APP KEY=VALUE...") {
		t.Errorf("help: %+v", r)
	}
}

func TestCommandErrors(t *testing.T) {
	s, f := newTestServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"; try "help"`},
		{[]string{"apps", "x"}, "usage: apps"},
		{[]string{"config"}, "usage: config APP"},
		{[]string{"config", "web-app", "extra"}, "usage: config APP"},
		{[]string{"config", "nope"}, "app nope not found"},
		{[]string{"config", "Bad_Name"}, `invalid app name "Bad_Name"`},
		{[]string{"config:get", "web-app", "MISSING"}, "config var MISSING is not set for web-app"},
		{[]string{"config:set", "web-app"}, ".env line 1: expected KEY=VALUE"}, // stdin "input" is read as a .env file
		{[]string{"config:set", "web-app", "GOOD=1", "1BAD=2"}, `invalid config key "1BAD"`},
		{[]string{"config:set", "web-app", "GOOD=1", "NOEQUALS"}, `invalid assignment "NOEQUALS"`},
		{[]string{"config:unset", "web-app", "A", "no-dash"}, `invalid config key "no-dash"`},
		{[]string{"ps:scale", "web-app", "web=2", "worker=101"}, `invalid count "101" for worker`},
		{[]string{"ps:scale", "web-app", "web=-1"}, `invalid count "-1" for web`},
		{[]string{"ps:scale", "web-app", "web=+1"}, `invalid count "+1" for web`},
		{[]string{"ps:scale", "web-app", "we b=1"}, `invalid process type "we b"`},
		{[]string{"ps:scale", "web-app", "web"}, `invalid scale "web"`},
		{[]string{"ps:set", "web-app", "web"}, "usage: ps:set APP TYPE"},
		{[]string{"ps:set", "web-app", "web", "memory=lots"}, `invalid memory "lots"`},
		{[]string{"ps:set", "web-app", "web", "cpus=-1"}, `invalid cpus "-1"`},
		{[]string{"ps:set", "web-app", "web", "disk=1g"}, `unknown setting "disk"`},
		{[]string{"ps:set", "web-app", "web", "memory=512m", "cpus=x"}, `invalid cpus "x"`},
		{[]string{"apps:destroy", "web-app"}, "destroying web-app cannot be undone"},
		{[]string{"apps:destroy", "web-app", "--confirm", "other"}, "--confirm other does not match"},
		{[]string{"apps:destroy", "web-app", "--confirm"}, "flag --confirm needs a value"},
		{[]string{"logs", "web-app", "-n", "x"}, `invalid line count "x"`},
		{[]string{"logs", "web-app", "--bogus"}, "unknown flag --bogus"},
		{[]string{"logs", "web-app", "--ps", "web.0"}, `invalid process "web.0"`},
		{[]string{"logs", "web-app", "-t=1"}, "flag -t takes no value"},
		{[]string{"run", "web-app"}, "usage: run APP [-d|--detach] [--] CMD [ARGS...]"},
		{[]string{"run", "web-app", "--"}, "usage: run APP [-d|--detach] [--] CMD [ARGS...]"},
		{[]string{"apps:create", "Nope"}, `invalid app name "Nope"`},
		{[]string{"apps:create", "web-app"}, "app web-app already exists"},
	}
	for _, tt := range tests {
		r := run(s, tt.args...)
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if r.status != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "paas: "+tt.want) {
			t.Errorf("%q: status %d, stderr %q; want one line starting %q", tt.args, r.status, r.stderr, "paas: "+tt.want)
		}
	}
	// Nothing above may have changed state.
	if len(f.scaled) != 0 || len(f.releases["web-app"]) != 2 || len(f.apps) != 1 || len(f.apps["web-app"].Limits) != 0 {
		t.Errorf("a refused command changed state: scaled %v, releases %d, apps %d", f.scaled, len(f.releases["web-app"]), len(f.apps))
	}
}

func TestConfigSetUnset(t *testing.T) {
	s, f := newTestServer(t)
	r := run(s, "config:set", "web-app", "X=a=b", "Y=$(id) `x`", "X=last")
	if r.status != 0 || r.stdout != "Set X, Y on web-app: release v3\n" {
		t.Fatalf("config:set: %+v", r)
	}
	if f.config["web-app"]["X"] != "last" || f.config["web-app"]["Y"] != "$(id) `x`" {
		t.Errorf("config = %q", f.config["web-app"])
	}
	r = run(s, "config:unset", "web-app", "X", "A")
	if r.status != 0 || r.stdout != "Unset X, A on web-app: release v4\n" {
		t.Fatalf("config:unset: %+v", r)
	}
	if _, ok := f.config["web-app"]["X"]; ok {
		t.Error("X still set")
	}
	// Unsetting only vars that are not set says so, exits 0 and makes
	// no release.
	r = run(s, "config:unset", "web-app", "X", "NOPE")
	if r.status != 0 || r.stdout != "X, NOPE not set on web-app: nothing changed\n" || len(f.releases["web-app"]) != 4 {
		t.Fatalf("config:unset of vars not set: %+v, %d releases", r, len(f.releases["web-app"]))
	}
}

func TestScaleAndLogs(t *testing.T) {
	s, f := newTestServer(t)
	if r := run(s, "ps:scale", "web-app", "web=3", "worker=0"); r.status != 0 || r.stdout != "Scaled web-app to web=3 worker=0\n" {
		t.Fatalf("ps:scale: %+v", r)
	}
	if len(f.scaled) != 1 || f.scaled[0]["web"] != 3 || f.scaled[0]["worker"] != 0 {
		t.Errorf("scaled = %v", f.scaled)
	}
	for _, args := range [][]string{
		{"logs", "web-app"},
		{"logs", "web-app", "-n", "5", "-t", "--ps", "web.2"},
		{"logs", "web-app", "--tail", "--ps=worker", "-n=0"},
	} {
		if r := run(s, args...); r.status != 0 || r.stdout != "app[web.1]: hello\n" {
			t.Errorf("%q: %+v", args, r)
		}
	}
	want := []logsCall{{"web-app", 100, "", false}, {"web-app", 5, "web.2", true}, {"web-app", 0, "worker", true}}
	for i, c := range f.logsCalls {
		if c != want[i] {
			t.Errorf("logs call %d = %+v, want %+v", i, c, want[i])
		}
	}
}

func TestRunExitStatusAndTTY(t *testing.T) {
	s, f := newTestServer(t)
	if r := run(s, "run", "web-app", "exit", "7"); r.status != 7 {
		t.Errorf("run exit 7: status %d", r.status)
	}
	var out bytes.Buffer
	st := s.dispatch(&request{ctx: context.Background(), by: "alice", user: user{name: "alice", admin: true}, args: []string{"run", "web-app", "tty"},
		stdin: strings.NewReader(""), stdout: &out, stderr: &out,
		tty: &ttyInfo{term: "xterm", window: windowSize(ssh.Window{Width: 80, Height: 24})}})
	if st != 0 || out.String() != "tty=true term=xterm cols=80 rows=24\n" {
		t.Errorf("run tty: %d %q", st, out.String())
	}
	if got := f.runs[len(f.runs)-1].By; got != "alice" {
		t.Errorf("run by %q", got)
	}
}

func TestDestroyRemovesRepo(t *testing.T) {
	s, f := newTestServer(t)
	repo := s.repoPath("web-app")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := run(s, "apps:destroy", "web-app", "--confirm", "web-app"); r.status != 0 {
		t.Fatalf("destroy: %+v", r)
	}
	if _, err := os.Stat(repo); !os.IsNotExist(err) {
		t.Errorf("repo still there: %v", err)
	}
	if len(f.apps) != 0 {
		t.Error("app not destroyed")
	}
}

func TestParseFlags(t *testing.T) {
	fl, rest, err := parseFlags([]string{"a", "-n", "3", "--x=y", "--", "-n"}, map[string]bool{"-n": true, "--x": true})
	if err != nil || fl["-n"] != "3" || fl["--x"] != "y" || strings.Join(rest, ",") != "a,-n" {
		t.Errorf("parseFlags = %v %q %v", fl, rest, err)
	}
}

func TestDeployRef(t *testing.T) {
	const a, b, z = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222", "0000000000000000000000000000000000000000"
	tests := []struct {
		lines []string
		want  string // error prefix, or the ref deployed
	}{
		{[]string{a + " " + b + " refs/heads/main"}, "refs/heads/main"},
		{[]string{z + " " + b + " refs/heads/master"}, "refs/heads/master"},
		{[]string{a + " " + z + " refs/heads/main"}, "deleting branch main is not allowed"},
		{[]string{a + " " + b + " refs/heads/x"}, "pushed refs/heads/x; push to main (or master) to deploy"},
		{[]string{a + " " + b + " refs/heads/main", a + " " + b + " refs/tags/v1"}, "pushed refs/tags/v1"},
		{[]string{"x y refs/heads/main"}, "bad ref update line"},
	}
	for _, tt := range tests {
		u, err := deployRef(tt.lines)
		got := u.Ref
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("deployRef(%q) = %q, want %q", tt.lines, got, tt.want)
		}
	}
}

func TestRepoArg(t *testing.T) {
	for _, in := range []string{"app", "app.git", "/app", "/app.git"} {
		if got, err := repoArg(in); err != nil || got != "app" {
			t.Errorf("repoArg(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"../app", "a/b", "", "App", "/", "app.git.git"} {
		if _, err := repoArg(in); err == nil {
			t.Errorf("repoArg(%q) accepted", in)
		}
	}
}

// FuzzDispatch runs arbitrary command lines through the grammar: it must
// never panic and must fail with exactly one "paas: " line.
func FuzzDispatch(f *testing.F) {
	for _, s := range []string{"config:set web-app A=1", "logs web-app -n 3 --ps web.1", "ps:scale web-app web=1", "apps:destroy web-app --confirm", "run web-app -- exit 3"} {
		f.Add(s)
	}
	s, _ := newTestServer(f)
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		if len(args) == 0 || args[0] == "apps:destroy" || args[0] == "apps:create" {
			return
		}
		r := run(s, args...)
		if r.status == 1 && args[0] != "run" {
			if !strings.HasPrefix(r.stderr, "paas: ") || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("%q: stderr %q", args, r.stderr)
			}
		}
	})
}

func TestPsSet(t *testing.T) {
	s, f := newTestServer(t)
	r := run(s, "ps:set", "web-app", "web", "memory=512m", "cpus=0.5")
	if r.status != 0 || !strings.Contains(r.stdout, "memory=512m cpus=0.5") {
		t.Fatalf("ps:set: %d %q %q", r.status, r.stdout, r.stderr)
	}
	// A later call changes only what it names.
	run(s, "ps:set", "web-app", "web", "cpus=2")
	if got := f.apps["web-app"].Limits["web"]; got != (paas.Limits{Memory: 512 << 20, CPUs: 2}) {
		t.Fatalf("limits = %+v", got)
	}
}

func TestLifecycleCommands(t *testing.T) {
	s, f := newTestServer(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rollback", "web-app"}, "Rolled back web-app: v99 (Rollback to v0)"},
		{[]string{"rollback", "web-app", "v1"}, "Rollback to v1)"},
		{[]string{"rollback", "web-app", "v2", "--force"}, "Rollback to v2 (forced)"},
		{[]string{"ps:restart", "web-app"}, "Restarted web-app"},
		{[]string{"ps:restart", "web-app", "web.2", "--no-wait"}, "Restarted web-app web.2"},
		{[]string{"ps:stop", "web-app", "worker"}, "Stopped web-app worker"},
		{[]string{"ps:start", "web-app", "worker"}, "Started web-app worker"},
		{[]string{"maintenance:on", "web-app"}, "Maintenance mode on for web-app"},
		{[]string{"ps:set", "web-app", "stop-timeout=45"}, "Set web-app stop-timeout to 45s"},
	} {
		r := run(s, c.args...)
		if r.status != 0 || !strings.Contains(r.stdout, c.want) {
			t.Errorf("%q: status %d stdout %q stderr %q; want %q", c.args, r.status, r.stdout, r.stderr, c.want)
		}
	}
	if !slices.Equal(f.rolledBack, []int{0, 1, 2}) || !slices.Equal(f.restarted, []string{"", "web.2"}) {
		t.Errorf("rolled back %v, restarted %v", f.rolledBack, f.restarted)
	}
	if a := f.apps["web-app"]; !a.Maintenance || a.StopTimeout != 45*time.Second {
		t.Errorf("app after commands: %+v", a)
	}
	r := run(s, "releases:info", "web-app", "v2", "--values")
	if r.status != 0 || !strings.Contains(r.stdout, "release:") || !strings.Contains(r.stdout, "C='it'\\''s'") {
		t.Errorf("releases:info --values: %d %q %q", r.status, r.stdout, r.stderr)
	}
	r = run(s, "releases:info", "web-app", "v2")
	if strings.Contains(r.stdout, "it's") || !strings.Contains(r.stdout, "  C\n") {
		t.Errorf("releases:info without --values shows values: %q", r.stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rollback", "web-app", "vx"}, `invalid release "vx"`},
		{[]string{"rollback", "web-app", "v0"}, `invalid release "v0"`},
		{[]string{"releases:info", "web-app", "v9"}, "web-app has no release v9"},
		{[]string{"ps:restart", "web-app", "web.0"}, `invalid instance "web.0"`},
		{[]string{"ps:set", "web-app", "stop-timeout=-1"}, `invalid stop-timeout "-1"`},
		{[]string{"ps:stop", "web-app"}, "usage: ps:stop APP TYPE"},
		{[]string{"config:get", "web-app", "--no-wait"}, `invalid config key "--no-wait"`},
	} {
		r := run(s, c.args...)
		if r.status != 1 || !strings.HasPrefix(r.stderr, "paas: "+c.want) {
			t.Errorf("%q: status %d stderr %q; want %q", c.args, r.status, r.stderr, c.want)
		}
	}
}
