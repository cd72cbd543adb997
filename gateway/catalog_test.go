package gateway

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"paas/catalog"
)

// TestCatalogNamesTheCommands: the catalog (help, usage lines and
// suggestions for the client and here) and the command table name the
// same commands, and the table's usage lines are the catalog's.
func TestCatalogNamesTheCommands(t *testing.T) {
	var table, cat []string
	for _, c := range commands {
		table = append(table, c.name)
	}
	for _, c := range catalog.All() {
		if !c.Local {
			cat = append(cat, c.Name)
		}
	}
	slices.Sort(table)
	slices.Sort(cat)
	for _, n := range table {
		if !slices.Contains(cat, n) {
			t.Errorf("%s is in the command table, not in the catalog", n)
		}
	}
	for _, n := range cat {
		if !slices.Contains(table, n) {
			t.Errorf("%s is in the catalog, not in the command table", n)
		}
	}
	for _, c := range commands {
		if cc, ok := catalog.Lookup(c.name); ok && usageLine(c, false) != cc.SSHUsage() {
			t.Errorf("%s: usage %q, the catalog's %q", c.name, usageLine(c, false), cc.SSHUsage())
		}
	}
}

// runAsClient dispatches args as the paas client sends them.
func runAsClient(s *Server, args ...string) result {
	var out, errb bytes.Buffer
	st := s.dispatch(&request{ctx: context.Background(), by: "alice", user: user{name: "alice", admin: true}, args: args, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, client: true})
	return result{st, out.String(), errb.String()}
}

func TestUsageInTheClientsGrammar(t *testing.T) {
	s, _ := newTestServer(t)
	for _, tc := range []struct {
		args      []string
		ssh, paas string
	}{
		{[]string{"config:get", "web-app"}, "usage: config:get APP KEY", "usage: paas config:get KEY [-a APP]"},
		{[]string{"config:get"}, "usage: config:get APP KEY", "usage: paas config:get KEY [-a APP]"},
		{[]string{"run", "web-app"}, "usage: run APP [-d|--detach] [--] CMD [ARGS...]", "usage: paas run [-a APP] [-d|--detach] [--] CMD [ARGS...]"},
		{[]string{"addons:attach", "db"}, "usage: addons:attach NAME APP [--as VAR]", "usage: paas addons:attach NAME [--as VAR] [-a APP]"},
		{[]string{"apps", "x"}, "usage: apps", "usage: paas apps"},
	} {
		if r := run(s, tc.args...); r.status != 1 || r.stderr != "paas: "+tc.ssh+"\n" {
			t.Errorf("%q over SSH: %+v, want %q", tc.args, r, tc.ssh)
		}
		if r := runAsClient(s, tc.args...); r.status != 1 || r.stderr != "paas: "+tc.paas+"\n" {
			t.Errorf("%q from the client: %+v, want %q", tc.args, r, tc.paas)
		}
	}
}

func TestUnknownCommandSuggests(t *testing.T) {
	s, _ := newTestServer(t)
	for _, tc := range []struct{ typed, want string }{
		{"log", `paas: unknown command "log". Did you mean logs?` + "\n"},
		{"config:st", `paas: unknown command "config:st". Did you mean config:set?` + "\n"},
		{"frobnicate", `paas: unknown command "frobnicate"; try "help"` + "\n"},
	} {
		if r := run(s, tc.typed, "web-app"); r.status != 1 || r.stderr != tc.want {
			t.Errorf("%s: %+v, want %q", tc.typed, r, tc.want)
		}
	}
}

// TestHelpByTopic: help lists the commands topic by topic, and help
// COMMAND one command's usage.
func TestHelpByTopic(t *testing.T) {
	s, _ := newTestServer(t)
	r := run(s, "help")
	rest := r.stdout
	for _, want := range []string{"\napps:\n", "  apps:create APP ", "\nconfig:\n", "  config:set APP KEY=VALUE... ", "\nkeys:\n", "  keys:add USER [--admin] < KEY.pub "} {
		i := strings.Index(rest, want)
		if i < 0 {
			t.Fatalf("help lacks %q after what came before:\n%s", want, r.stdout)
		}
		rest = rest[i:]
	}
	if strings.Contains(r.stdout, "\n  open ") {
		t.Errorf("help lists the client's own open:\n%s", r.stdout)
	}
	if r := run(s, "help", "config:set"); r.status != 0 || r.stdout != "usage: config:set APP KEY=VALUE... | < .env\nset config vars, or a .env file's (one new release)\n" {
		t.Errorf("help config:set: %+v", r)
	}
	if r := runAsClient(s, "help", "config:set"); r.status != 0 || !strings.HasPrefix(r.stdout, "usage: paas config:set KEY=VALUE... | --file .env [-a APP]\n") {
		t.Errorf("help config:set from the client: %+v", r)
	}
	if r := run(s, "help", "log"); r.status != 1 || !strings.Contains(r.stderr, "Did you mean logs?") {
		t.Errorf("help log: %+v", r)
	}
}
