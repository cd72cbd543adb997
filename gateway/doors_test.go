package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"paas"
)

// doorCase is, for one command, who may run it, written from the rule
// table of the README (anyone; admin: admins only; self: admins, and a
// user on their own keys; read, change: owners and collaborators;
// destroy, share: owners only; admins may do everything), and arguments
// with which it runs (APP stands for the app, ADDON for the add-on
// attached to it).
type doorCase struct {
	who  string
	args string
}

// doorCases holds every command. A command missing here fails
// TestEveryDoor: a new command must be added to the test with its rule.
var doorCases = map[string]doorCase{
	"apps":                   {"anyone", ""},
	"apps:create":            {"anyone", "brand-new"},
	"apps:info":              {"read", "APP"},
	"apps:destroy":           {"destroy", "APP --confirm APP"},
	"apps:transfer":          {"share", "APP olive"},
	"apps:rename":            {"share", "APP renamed-app"},
	"access":                 {"read", "APP"},
	"access:add":             {"share", "APP sam"},
	"access:remove":          {"share", "APP cole"},
	"config":                 {"read", "APP"},
	"config:get":             {"read", "APP A"},
	"config:set":             {"change", "APP X=1"},
	"config:unset":           {"change", "APP A"},
	"releases":               {"read", "APP"},
	"metrics":                {"read", "APP"},
	"builds":                 {"read", "APP"},
	"releases:info":          {"read", "APP v1"},
	"rollback":               {"change", "APP"},
	"ps":                     {"read", "APP"},
	"ps:scale":               {"change", "APP web=2"},
	"ps:restart":             {"change", "APP"},
	"ps:stop":                {"change", "APP web"},
	"ps:start":               {"change", "APP web"},
	"ps:set":                 {"change", "APP web memory=256m"},
	"maintenance:on":         {"change", "APP"},
	"maintenance:off":        {"change", "APP"},
	"domains":                {"read", "APP"},
	"domains:add":            {"change", "APP www.example.com"},
	"domains:remove":         {"change", "APP www.example.com"},
	"builder":                {"read", "APP"},
	"builder:set":            {"change", "APP buildpacks"},
	"proxy":                  {"read", "APP"},
	"proxy:set":              {"change", "APP hsts=true"},
	"certs":                  {"read", "APP"},
	"certs:add":              {"change", "APP"},
	"certs:remove":           {"change", "APP www.example.com"},
	"drains":                 {"read", "APP"},
	"drains:add":             {"change", "APP syslog://logs.example.com:514"},
	"drains:remove":          {"change", "APP 1"},
	"addons":                 {"anyone", ""},
	"addons:create":          {"change", "APP redis"},
	"addons:info":            {"read", "ADDON"},
	"addons:attach":          {"change", "ADDON APP --as OTHER"},
	"addons:detach":          {"change", "ADDON APP"},
	"addons:destroy":         {"destroy", "ADDON --confirm ADDON --detach"},
	"addons:connect":         {"read", "ADDON"},
	"addons:backup":          {"read", "ADDON"},
	"addons:restore":         {"change", "ADDON"},
	"addons:backups":         {"read", "ADDON"},
	"addons:backups:capture": {"change", "ADDON"},
	"addons:rotate":          {"change", "ADDON"},
	"run":                    {"change", "APP echo hi"},
	"git:sync":               {"deploy", "APP https://example.invalid/x.git"},
	"git:from-archive":       {"deploy", "APP"},
	"logs":                   {"read", "APP"},
	"keys":                   {"anyone", ""},
	"keys:add":               {"admin", "dora"},
	"keys:remove":            {"self", "olive"},
	"audit":                  {"admin", ""},
	"nodes":                  {"admin", ""},
	"nodes:add":              {"admin", "/run/docker.sock"},
	"nodes:drain":            {"admin", "node2"},
	"nodes:activate":         {"admin", "node2"},
	"nodes:remove":           {"admin", "node2"},
	"whoami":                 {"anyone", ""},
	"dashboard:url":          {"anyone", ""},
	"help":                   {"anyone", ""},
	"version":                {"anyone", ""},
}

// The team of TestEveryDoor: an admin and three members, and for each
// user an app they own, one they collaborate on and one of someone else.
var (
	teamUsers = []user{{"ada", true}, {"olive", false}, {"cole", false}, {"sam", false}}
	teamApps  = map[string]struct {
		owner   string
		collabs []string
	}{
		"ada-app":   {"ada", nil},
		"olive-app": {"olive", []string{"cole"}},
		"cole-app":  {"cole", []string{"olive", "ada", "sam"}},
		"sam-app":   {"sam", nil},
		"fred-app":  {"fred", nil},
	}
	// teamTargets names, for each user, the app of each kind.
	teamTargets = map[string]map[string]string{
		"ada":   {"own": "ada-app", "collaborated": "cole-app", "foreign": "fred-app", "nonexistent": "ghost-app"},
		"olive": {"own": "olive-app", "collaborated": "cole-app", "foreign": "fred-app", "nonexistent": "ghost-app"},
		"cole":  {"own": "cole-app", "collaborated": "olive-app", "foreign": "fred-app", "nonexistent": "ghost-app"},
		"sam":   {"own": "sam-app", "collaborated": "cole-app", "foreign": "olive-app", "nonexistent": "ghost-app"},
	}
)

// newTeamPlatform is a fake platform holding the team, each app with a
// release and a postgres add-on (APP-postgres) attached.
func newTeamPlatform(t *testing.T) *fakePlatform {
	t.Helper()
	f := newFakePlatform()
	ctx := context.Background()
	for _, u := range append(slices.Clone(teamUsers), user{"fred", false}, user{"dora", false}) {
		f.addUser(u.name, u.admin)
	}
	for _, name := range []string{"ada-app", "olive-app", "cole-app", "sam-app", "fred-app"} {
		a := teamApps[name]
		if _, err := f.CreateApp(ctx, name, a.owner); err != nil {
			t.Fatal(err)
		}
		f.SetConfig(ctx, name, a.owner, map[string]string{"A": "1"}, nil, nil)
		if _, _, err := f.CreateAddon(ctx, name, "postgres", "", "", a.owner, io.Discard); err != nil {
			t.Fatal(err)
		}
		for _, c := range a.collabs {
			f.collaborate(name, c)
		}
	}
	return f
}

// want is a door's decision.
type want int

const (
	allowed want = iota
	hidden
	forbidden
	// missing: an admin is let in to an app that does not exist: the
	// platform, not the door, fails the command.
	missing
)

// expected is the rule as the README's table writes it, not as code
// computes it: admins may do everything; any user may create an app and
// run the commands about no app; only admins manage others' keys; owners
// may do everything to their app; collaborators may read, deploy and
// change but not destroy or share; anyone else is not told the app
// exists.
func expected(u user, kind, who string) want {
	onApp := who != "anyone" && who != "admin" && who != "self"
	switch {
	case u.admin && kind == "nonexistent" && onApp:
		return missing
	case u.admin || who == "anyone":
		return allowed
	case who == "admin":
		return forbidden
	case who == "self":
		// keys:remove olive: olive's own keys.
		if u.name == "olive" {
			return allowed
		}
		return forbidden
	case kind == "own":
		return allowed
	case kind == "collaborated":
		if who == "destroy" || who == "share" {
			return forbidden
		}
		return allowed
	}
	return hidden
}

// runAs runs a command line as u on s and returns status, stdout and stderr
// together.
func runAs(s *Server, u user, args []string) result {
	var out, errb bytes.Buffer
	st := s.dispatch(&request{ctx: context.Background(), by: u.name, user: u, args: args,
		stdin: strings.NewReader("input"), stdout: &out, stderr: &errb})
	return result{st, out.String(), errb.String()}
}

// doorCommand fills a command's arguments for the app.
func doorCommand(t *testing.T, c *command, app string) []string {
	t.Helper()
	dc, ok := doorCases[c.name]
	if !ok {
		t.Fatalf("command %s is not in doorCases: add it with its rule", c.name)
	}
	tmpl := dc.args
	tmpl = strings.ReplaceAll(tmpl, "ADDON", app+"-postgres")
	tmpl = strings.ReplaceAll(tmpl, "APP", app)
	return append([]string{c.name}, strings.Fields(tmpl)...)
}

// TestEveryDoor walks every command of the table, as every user of the
// team, on an app of each kind (own, collaborated, foreign, nonexistent),
// and checks the command is let in, refused, or answered exactly as for
// an app (add-on) that does not exist.
func TestEveryDoor(t *testing.T) {
	s, _ := newTestServer(t)
	for _, c := range commands {
		if c.door.on == onUnset {
			t.Errorf("command %s does not say what it acts on (door)", c.name)
			continue
		}
		dc, ok := doorCases[c.name]
		if !ok {
			t.Errorf("command %s is not in doorCases: add it with its rule", c.name)
			continue
		}
		for _, u := range teamUsers {
			for _, kind := range []string{"own", "collaborated", "foreign", "nonexistent"} {
				if (dc.who == "anyone" || dc.who == "admin" || dc.who == "self") && kind != "own" {
					continue // no app: one run per user
				}
				app := teamTargets[u.name][kind]
				f := newTeamPlatform(t)
				s.cfg.Platform = f
				args := doorCommand(t, c, app)
				got := runAs(s, u, args)
				w := expected(u, kind, dc.who)
				checkDoor(t, s, f, u, kind, args, c, got, w)
			}
		}
	}
}

// checkDoor checks one run's answer against the decision wanted.
func checkDoor(t *testing.T, s *Server, f *fakePlatform, u user, kind string, args []string, c *command, got result, w want) {
	t.Helper()
	what := fmt.Sprintf("%s on %s %s (%q)", u.name, kind, c.name, args)
	obj := appObj(teamTargets[u.name][kind])
	if strings.HasPrefix(c.name, "addons:") && c.name != "addons:create" {
		obj = addonObj(args[1])
	}
	hiddenLine := "paas: " + errMsg(obj.notFound()) + "\n"
	refusedByDoor := got.status == 1 && got.stdout == "" && (got.stderr == hiddenLine || strings.HasPrefix(got.stderr, "paas: permission denied"))
	switch w {
	case allowed:
		if refusedByDoor {
			t.Errorf("%s: refused (%q), want allowed", what, got.stderr)
		}
		if strings.Contains(got.stderr, "permission denied") {
			t.Errorf("%s: %q, want allowed", what, got.stderr)
		}
	case forbidden:
		if got.status != 1 || got.stdout != "" || !strings.HasPrefix(got.stderr, "paas: permission denied") || strings.Count(got.stderr, "\n") != 1 {
			t.Errorf("%s: status %d, stdout %q, stderr %q; want one permission denied line", what, got.status, got.stdout, got.stderr)
		}
	case missing:
		if got.status != 1 || got.stdout != "" || strings.Contains(got.stderr, "permission denied") {
			t.Errorf("%s: status %d, stdout %q, stderr %q; want the platform's failure", what, got.status, got.stdout, got.stderr)
		}
	case hidden:
		if got.status != 1 || got.stdout != "" || got.stderr != hiddenLine {
			t.Errorf("%s: status %d, stdout %q, stderr %q; want exactly %q", what, got.status, got.stdout, got.stderr, hiddenLine)
		}
		if w == hidden && kind == "foreign" {
			// The same command once the app (and its add-on) are gone:
			// the same bytes.
			g := newTeamPlatform(t)
			gone := teamTargets[u.name][kind]
			delete(g.apps, gone)
			all, _ := g.addons()
			delete(all, gone+"-postgres")
			s.cfg.Platform = g
			again := runAs(s, u, args)
			if again != got {
				t.Errorf("%s: a hidden app answers %+v, a missing one %+v", what, got, again)
			}
		}
	}
}

func errMsg(err error) string {
	msg, _ := paas.UserMessage(err)
	return msg
}

// TestAttachNeedsBoth: attaching or detaching an add-on changes the app
// too: a user must be let in on both, and an app hidden from them is
// answered as missing.
func TestAttachNeedsBoth(t *testing.T) {
	s, _ := newTestServer(t)
	olive := user{"olive", false}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"addons:attach", "olive-app-postgres", "fred-app"}, "paas: app fred-app not found\n"},
		{[]string{"addons:attach", "fred-app-postgres", "olive-app"}, "paas: add-on fred-app-postgres not found\n"},
		{[]string{"addons:detach", "olive-app-postgres", "fred-app"}, "paas: app fred-app not found\n"},
	} {
		f := newTeamPlatform(t)
		s.cfg.Platform = f
		got := runAs(s, olive, tc.args)
		if got.status != 1 || got.stdout != "" || got.stderr != tc.want {
			t.Errorf("%q: %+v, want %q", tc.args, got, tc.want)
		}
		if _, ok := f.config["fred-app"]["OLIVE_APP_POSTGRES_URL"]; ok {
			t.Errorf("%q: attached", tc.args)
		}
	}
}

// TestListsShowWhatUserMaySee: apps and addons list only the apps (and
// the add-ons attached to them) the user owns or collaborates on; an
// admin's list everything.
func TestListsShowWhatUserMaySee(t *testing.T) {
	s, _ := newTestServer(t)
	s.cfg.Platform = newTeamPlatform(t)
	for _, tc := range []struct {
		u    user
		apps []string
	}{
		{user{"ada", true}, []string{"ada-app", "cole-app", "fred-app", "olive-app", "sam-app"}},
		{user{"olive", false}, []string{"cole-app", "olive-app"}},
		{user{"sam", false}, []string{"cole-app", "sam-app"}},
		{user{"dora", false}, nil},
	} {
		got := runAs(s, tc.u, []string{"apps"})
		if got.status != 0 || !slices.Equal(listedApps(got.stdout), tc.apps) {
			t.Errorf("apps as %s: %+v, want %q", tc.u.name, got, tc.apps)
		}
		got = runAs(s, tc.u, []string{"addons"})
		var listed []string
		for _, line := range strings.Split(got.stdout, "\n") {
			if name, ok := strings.CutSuffix(strings.Fields(line + " x")[0], "-postgres"); ok {
				listed = append(listed, name)
			}
		}
		if got.status != 0 || !slices.Equal(listed, tc.apps) {
			t.Errorf("addons as %s: %+v, want the add-ons of %q", tc.u.name, got, tc.apps)
		}
	}
}
