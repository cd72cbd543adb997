package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"paas"
)

// docField is one row of a field table in docs/json.md.
type docField struct{ name, typ string }

// documentedFields reads docs/json.md: each "## COMMAND" section's field
// table, by command.
func documentedFields(t *testing.T) map[string][]docField {
	t.Helper()
	f, err := os.Open("../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs := map[string][]docField{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "## "); ok {
			section = name
			continue
		}
		cells := strings.Split(line, "|")
		if section == "" || len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		docs[section] = append(docs[section], docField{strings.Trim(strings.TrimSpace(cells[1]), "`"), strings.TrimSpace(cells[2])})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

// checkType reports whether v, decoded from JSON, is of the documented
// type: string, integer, number, boolean, time, array or object,
// optionally "or null".
func checkType(v any, typ string) bool {
	base, nullable := strings.CutSuffix(typ, " or null")
	if v == nil {
		return nullable
	}
	switch base {
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "time":
		s, ok := v.(string)
		if !ok || !strings.HasSuffix(s, "Z") {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// checkDocumented checks that obj has exactly the fields docs/json.md
// documents for section, each of its documented type.
func checkDocumented(t *testing.T, docs map[string][]docField, section string, obj any) {
	t.Helper()
	m, ok := obj.(map[string]any)
	if !ok {
		t.Errorf("%s: %v is not an object", section, obj)
		return
	}
	fields := docs[section]
	if len(fields) == 0 {
		t.Errorf("docs/json.md documents no fields for %s", section)
		return
	}
	var documented []string
	for _, f := range fields {
		documented = append(documented, f.name)
		v, present := m[f.name]
		if !present {
			t.Errorf("%s: documented field %s is missing from %v", section, f.name, m)
			continue
		}
		if !checkType(v, f.typ) {
			t.Errorf("%s: field %s = %#v, documented as %s", section, f.name, v, f.typ)
		}
	}
	for k := range m {
		if !slices.Contains(documented, k) {
			t.Errorf("%s: field %s is not documented in docs/json.md", section, k)
		}
	}
}

// memAudit is an in-memory audit log.
type memAudit struct{ entries []paas.AuditEntry }

func (a *memAudit) Record(e paas.AuditEntry) error {
	e.Seq = uint64(len(a.entries) + 1)
	a.entries = append(a.entries, e)
	return nil
}

func (a *memAudit) Entries(n int) ([]paas.AuditEntry, error) {
	return a.entries[max(0, len(a.entries)-n):], nil
}

// populatedServer is the test server with something in every listing: a
// crashed worker, a failed release, limits, domains, certificates, a
// drain, add-ons with a backup, keys and audit entries.
func populatedServer(t *testing.T) (*Server, *fakePlatform) {
	t.Helper()
	s, f := newTestServer(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	f.CreateApp(ctx, "shop", "alice")
	f.mu.Lock()
	for i, p := range f.procs["web-app"] {
		if p.Name == "web.1" {
			f.procs["web-app"][i].State, f.procs["web-app"][i].Restarts, f.procs["web-app"][i].LastExit = "crashed", 3, 137
		}
	}
	rels := f.releases["web-app"]
	if rels[0].Version != 1 || rels[1].Version != 2 {
		t.Fatalf("releases: %+v", rels)
	}
	rels[1].ProcessTypes = map[string]string{"web": "python3 app.py", "worker": "python3 worker.py"}
	rels[1].Buildpacks = []string{"python"}
	rels[1].Slug = "paas/web-app:2"
	rels[1].Commit = "0123456789abcdef0123456789abcdef01234567"
	rels[0].Status, rels[0].Failure, rels[0].Pruned = paas.StatusFailed, "web.1 did not listen on $PORT", true
	f.builds = map[string][]paas.Build{"web-app": {
		{Number: 2, Status: paas.StatusFailed, Commit: "0123456789abcdef0123456789abcdef01234567", By: "alice", StartedAt: at, CreatedAt: at.Add(42 * time.Second), Failure: "no buildpack detected"},
		{Number: 1, Status: paas.StatusSucceeded, Commit: "0123456789abcdef0123456789abcdef01234567", Buildpacks: []string{"python"}, CreatedAt: at},
	}}
	a := f.apps["web-app"]
	a.Limits = map[string]paas.Limits{"web": {Memory: 512 << 20}, "worker": {CPUs: 0.5}}
	a.StopTimeout = 45 * time.Second
	a.Stopped = map[string]int{"clock": 1}
	f.certState().listed["web-app"] = []paas.Cert{
		{Hosts: []string{"web-app.example.test"}, Issuer: "R11", NotAfter: at, Source: "acme"},
		{Hosts: []string{"www.example.com"}, Source: "acme"},
	}
	f.mu.Unlock()
	for _, args := range [][]string{
		{"domains:add", "web-app", "www.example.com"},
		{"domains:add", "web-app", "*.wild.example"},
		{"drains:add", "web-app", "https://u:hunter2@logs.example.com/in"},
		{"addons:create", "shop", "postgres"},
		{"addons:backups:capture", "shop-postgres"},
	} {
		if r := run(s, args...); r.status != 0 {
			t.Fatalf("%q: %+v", args, r)
		}
	}
	if err := f.AddKey(ctx, "alice", true, paas.Key{Name: "alice@laptop", Fingerprint: "SHA256:" + strings.Repeat("a", 43), PublicKey: "ssh-ed25519 AAAA alice@laptop", AddedAt: at}, "operator"); err != nil {
		t.Fatal(err)
	}
	audit := &memAudit{}
	audit.Record(paas.AuditEntry{Time: at, User: "alice", Fingerprint: "SHA256:" + strings.Repeat("a", 43), Remote: "127.0.0.1:5000", Command: "apps", Status: 0, DurationMS: 1500})
	audit.Record(paas.AuditEntry{Time: at, User: "alice", Fingerprint: "SHA256:" + strings.Repeat("a", 43), Remote: "127.0.0.1:5000", Command: "config:set web-app X=***", App: "web-app", Status: 1, DurationMS: 20})
	s.cfg.Audit = audit
	s.cfg.Metrics = metricsFixture()
	s.cfg.Nodes = newFakeNodes()
	return s, f
}

// TestJSONOutput: every listing and info command's --json is one JSON
// document on stdout (an array for a listing, an object for one thing)
// whose fields are those docs/json.md documents, of the documented types,
// and nothing is on stderr.
func TestJSONOutput(t *testing.T) {
	docs := documentedFields(t)
	s, _ := populatedServer(t)
	var checked []string
	for _, c := range []struct {
		section string
		args    []string
		listing bool
	}{
		{"apps", []string{"apps", "--json"}, true},
		{"apps:info", []string{"apps:info", "web-app", "--json"}, false},
		{"ps", []string{"ps", "web-app", "--json"}, true},
		{"metrics", []string{"metrics", "web-app", "--json"}, true},
		{"releases", []string{"releases", "web-app", "--json"}, true},
		{"builds", []string{"builds", "web-app", "--json"}, true},
		{"releases:info", []string{"releases:info", "web-app", "v2", "--json"}, false},
		{"releases:info", []string{"releases:info", "web-app", "--json", "v2", "--values"}, false},
		{"domains", []string{"domains", "web-app", "--json"}, true},
		{"certs", []string{"certs", "web-app", "--json"}, true},
		{"drains", []string{"drains", "web-app", "--json"}, true},
		{"addons", []string{"addons", "--json"}, true},
		{"addons", []string{"addons", "shop", "--json"}, true},
		{"addons:info", []string{"addons:info", "shop-postgres", "--json"}, false},
		{"addons:backups", []string{"addons:backups", "shop-postgres", "--json"}, true},
		{"keys", []string{"keys", "--json"}, true},
		{"access", []string{"access", "web-app", "--json"}, true},
		{"whoami", []string{"whoami", "--json"}, false},
		{"audit", []string{"audit", "--json"}, true},
		{"nodes", []string{"nodes", "--json"}, true},
	} {
		checked = append(checked, c.section)
		r := run(s, c.args...)
		if r.status != 0 || r.stderr != "" {
			t.Errorf("%q: status %d, stderr %q", c.args, r.status, r.stderr)
			continue
		}
		var doc any
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		if err := dec.Decode(&doc); err != nil {
			t.Errorf("%q: %v\n%s", c.args, err, r.stdout)
			continue
		}
		if dec.More() {
			t.Errorf("%q: more than one JSON document:\n%s", c.args, r.stdout)
		}
		if !c.listing {
			checkDocumented(t, docs, c.section, doc)
			continue
		}
		list, ok := doc.([]any)
		if !ok || len(list) == 0 {
			t.Errorf("%q: want a non-empty array, got\n%s", c.args, r.stdout)
			continue
		}
		for _, obj := range list {
			checkDocumented(t, docs, c.section, obj)
		}
	}
	// Every section of docs/json.md with a field table is a command
	// checked above, or logs (a stream, checked by the logs tests).
	for section := range docs {
		if !slices.Contains(checked, section) && section != "logs" {
			t.Errorf("docs/json.md documents %s, which this test does not check", section)
		}
	}
}

// TestJSONValues checks what the JSON says, beyond its shape: values,
// nulls, times in UTC, durations in seconds, and secrets only where the
// text shows them.
func TestJSONValues(t *testing.T) {
	s, _ := populatedServer(t)
	decode := func(args ...string) any {
		t.Helper()
		r := run(s, args...)
		var v any
		if err := json.Unmarshal([]byte(r.stdout), &v); r.status != 0 || err != nil {
			t.Fatalf("%q: %+v: %v", args, r, err)
		}
		return v
	}
	ps := decode("ps", "web-app", "--json").([]any)
	web, worker := ps[0].(map[string]any), ps[1].(map[string]any)
	if web["name"] != "web.1" || web["state"] != "crashed" || web["restarts"] != 3.0 || web["last_exit"] != 137.0 ||
		web["since"] != "2026-11-26T10:00:00Z" || web["release"] != 2.0 || web["command"] != "python3 app.py" {
		t.Errorf("ps web.1 = %v", web)
	}
	if worker["last_exit"] != nil || worker["restarts"] != 0.0 {
		t.Errorf("ps worker.1 = %v: a process that never crashed has no last exit", worker)
	}

	rels := decode("releases", "web-app", "--json").([]any)
	v2, v1 := rels[0].(map[string]any), rels[1].(map[string]any)
	if v2["version"] != 2.0 || v2["current"] != true || v2["status"] != "succeeded" || v2["created_by"] != "bob" || v2["commit"] == nil {
		t.Errorf("releases v2 = %v", v2)
	}
	if v1["current"] != false || v1["status"] != "failed" || v1["pruned"] != true || v1["failure"] != "web.1 did not listen on $PORT" || v1["commit"] != nil {
		t.Errorf("releases v1 = %v", v1)
	}

	info := decode("apps:info", "web-app", "--json").(map[string]any)
	want := map[string]any{
		"name": "web-app", "url": "https://web-app.example.test", "release": 2.0,
		"formation":    map[string]any{"web": 1.0, "worker": 0.0},
		"stopped":      map[string]any{"clock": 1.0},
		"limits":       map[string]any{"web": map[string]any{"memory": float64(512 << 20), "cpus": nil}, "worker": map[string]any{"memory": nil, "cpus": 0.5}},
		"stop_timeout": 45.0, "maintenance": false, "domains": []any{"*.wild.example", "www.example.com"},
		"default_domain": true, "builder": "auto", "created_at": "2026-11-26T10:00:00Z", "created_by": "alice",
	}
	if fmt.Sprint(info) != fmt.Sprint(want) {
		t.Errorf("apps:info --json =\n%v\nwant\n%v", info, want)
	}

	apps := decode("apps", "--json").([]any)
	if fmt.Sprint(apps) != fmt.Sprint([]any{map[string]any{
		"name": "shop", "release": 1.0, "url": "https://shop.example.test", "owner": "alice",
		"created_at": "2026-11-26T10:00:00Z", "created_by": "alice",
	}, map[string]any{
		"name": "web-app", "release": 2.0, "url": "https://web-app.example.test", "owner": "alice",
		"created_at": "2026-11-26T10:00:00Z", "created_by": "alice",
	}}) {
		t.Errorf("apps --json = %v", apps)
	}

	// config --json shows the values, as config does; releases:info
	// only with --values.
	if cfg := decode("config", "web-app", "--json").(map[string]any); fmt.Sprint(cfg) != fmt.Sprint(map[string]any{"A": "plain", "B": "two words", "C": "it's", "E": ""}) {
		t.Errorf("config --json = %v", cfg)
	}
	without := run(s, "releases:info", "web-app", "v2", "--json")
	if strings.Contains(without.stdout, "two words") || !strings.Contains(without.stdout, `"config": null`) || !strings.Contains(without.stdout, `"B"`) {
		t.Errorf("releases:info --json without --values:\n%s", without.stdout)
	}
	with := decode("releases:info", "web-app", "v2", "--json", "--values").(map[string]any)
	if cfg := with["config"].(map[string]any); cfg["B"] != "two words" || with["image"] != "paas/web-app:2" {
		t.Errorf("releases:info --json --values = %v", with)
	}

	// The add-on's password stays masked; the drain's URL too.
	addon := run(s, "addons:info", "shop-postgres", "--json")
	drains := run(s, "drains", "web-app", "--json")
	if !strings.Contains(addon.stdout, `"url": "postgres://app:***@shop-postgres:5432/app"`) ||
		strings.Contains(drains.stdout, "hunter2") || !strings.Contains(drains.stdout, `"token": "d.token-1"`) {
		t.Errorf("addons:info --json:\n%s\ndrains --json:\n%s", addon.stdout, drains.stdout)
	}

	doms := decode("domains", "web-app", "--json").([]any)
	if fmt.Sprint(doms) != fmt.Sprint([]any{
		map[string]any{"host": "web-app.example.test", "kind": "default", "wildcard": false},
		map[string]any{"host": "*.wild.example", "kind": "custom", "wildcard": true},
		map[string]any{"host": "www.example.com", "kind": "custom", "wildcard": false},
	}) {
		t.Errorf("domains --json = %v", doms)
	}

	audit := decode("audit", "--json").([]any)
	if e := audit[0].(map[string]any); e["duration"] != 1.5 || e["app"] != nil || e["time"] != "2026-11-26T10:00:00Z" {
		t.Errorf("audit --json [0] = %v", e)
	}
	keys := decode("keys", "--json").([]any)
	if k := keys[0].(map[string]any); k["user"] != "alice" || k["role"] != "admin" || k["type"] != "ssh-ed25519" || k["this_key"] != false {
		t.Errorf("keys --json [0] = %v", k)
	}
}

// TestEmptyListings: a listing with nothing to list says so in one line
// on stderr, writes nothing on stdout and exits 0; with --json it prints
// [].
func TestEmptyListings(t *testing.T) {
	s, f := newTestServer(t)
	ctx := context.Background()
	f.CreateApp(ctx, "bare", "alice")
	f.mu.Lock()
	f.apps["bare"].Proxy.NoDefaultDomain = true
	f.mu.Unlock()
	run(s, "addons:create", "web-app", "redis", "--name", "cache")
	s.cfg.Audit = &memAudit{}
	for _, c := range []struct {
		args []string
		line string
	}{
		{[]string{"ps", "bare"}, "bare has no processes"},
		{[]string{"releases", "bare"}, "bare has no releases yet"},
		{[]string{"domains", "bare"}, "bare has no hosts"},
		{[]string{"certs", "bare"}, "bare has no hosts to serve over HTTPS"},
		{[]string{"drains", "bare"}, "bare has no log drains"},
		{[]string{"addons", "bare"}, "bare has no add-ons"},
		{[]string{"addons:backups", "cache"}, "cache has no stored backups"},
		{[]string{"audit"}, "the audit log is empty"},
	} {
		r := run(s, c.args...)
		if r.status != 0 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, c.line) {
			t.Errorf("%q: status %d, stdout %q, stderr %q; want one line on stderr starting %q", c.args, r.status, r.stdout, r.stderr, c.line)
		}
		r = run(s, append(c.args, "--json")...)
		if r.status != 0 || r.stdout != "[]\n" || r.stderr != "" {
			t.Errorf("%q --json: status %d, stdout %q, stderr %q; want []", c.args, r.status, r.stdout, r.stderr)
		}
	}
	// config is an object: {} when nothing is set.
	if r := run(s, "config", "bare"); r.status != 0 || r.stdout != "" || r.stderr != "bare has no config vars\n" {
		t.Errorf("config of an app without vars: %+v", r)
	}
	if r := run(s, "config", "bare", "--json"); r.status != 0 || r.stdout != "{}\n" {
		t.Errorf("config --json of an app without vars: %+v", r)
	}
	// A user who may see no app.
	r := runAs(s, user{name: "nobody"}, []string{"apps"})
	if r.status != 0 || r.stdout != "" || r.stderr != "no apps yet; create one with apps:create APP\n" {
		t.Errorf("apps with none visible: %+v", r)
	}
	if r := runAs(s, user{name: "nobody"}, []string{"apps", "--json"}); r.status != 0 || r.stdout != "[]\n" {
		t.Errorf("apps --json with none visible: %+v", r)
	}
}

// TestJSONFlagErrors: --json is a flag like any other: a value is
// refused, and so is an unknown flag, with one line and nothing on
// stdout.
func TestJSONFlagErrors(t *testing.T) {
	s, _ := newTestServer(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ps", "web-app", "--json=yes"}, "paas: flag --json takes no value\n"},
		{[]string{"apps", "--jsn"}, "paas: unknown flag --jsn\n"},
		{[]string{"releases", "web-app", "--json", "extra"}, "paas: usage: releases APP\n"},
	} {
		r := run(s, c.args...)
		if r.status != 1 || r.stdout != "" || r.stderr != c.want {
			t.Errorf("%q: %+v, want %q", c.args, r, c.want)
		}
	}
}

// listedApps is the app names of an apps table: each row's first
// column, the header row left out.
func listedApps(table string) []string {
	var names []string
	for i, line := range strings.Split(strings.TrimSuffix(table, "\n"), "\n") {
		if f := strings.Fields(line); i > 0 && len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}
