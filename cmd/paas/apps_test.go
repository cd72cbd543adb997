package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"paas/shellwords"
)

func TestRemoteURL(t *testing.T) {
	for _, tc := range []struct {
		t    target
		want string
	}{
		{target{User: "paas", Host: "example.com"}, "ssh://paas@example.com/shop.git"},
		{target{User: "git", Host: "example.com", Port: "2222"}, "ssh://git@example.com:2222/shop.git"},
		{target{User: "paas", Host: "::1", Port: "22"}, "ssh://paas@[::1]:22/shop.git"},
		{target{User: "paas", Host: "::1"}, "ssh://paas@[::1]/shop.git"},
	} {
		got := remoteURL(tc.t, "shop")
		if got != tc.want {
			t.Errorf("remoteURL(%+v) = %q, want %q", tc.t, got, tc.want)
		}
		// The client reads back what it writes.
		if back, err := parseRemote(got); err != nil || back.Host != tc.t.Host || back.Port != tc.t.Port || back.App != "shop" {
			t.Errorf("parseRemote(%q) = %+v, %v", got, back, err)
		}
	}
}

// TestCreateAddsRemote: apps:create adds the git remote (-r's name, else
// paas) when there is none, leaves one that exists, and says which.
func TestCreateAddsRemote(t *testing.T) {
	script, record := fakeSSH(t)
	for _, tc := range []struct {
		args     []string
		existing map[string]string
		addErr   error
		status   int
		added    []string // name, url
		stdout   string
	}{
		{[]string{"apps:create", "shop"}, nil, nil, 0, []string{"paas", "ssh://paas@h:2222/shop.git"},
			"remote-output\nGit remote paas added: ssh://paas@h:2222/shop.git\n"},
		{[]string{"apps:create", "-r", "staging", "shop"}, nil, nil, 0, []string{"staging", "ssh://paas@h:2222/shop.git"},
			"remote-output\nGit remote staging added: ssh://paas@h:2222/shop.git\n"},
		{[]string{"apps:create", "-a", "shop"}, nil, nil, 0, []string{"paas", "ssh://paas@h:2222/shop.git"},
			"remote-output\nGit remote paas added: ssh://paas@h:2222/shop.git\n"},
		{[]string{"apps:create", "shop"}, map[string]string{"paas": "ssh://paas@h:2222/old.git"}, nil, 0, nil,
			"remote-output\nGit remote paas already exists (ssh://paas@h:2222/old.git): left as it is; shop's is ssh://paas@h:2222/shop.git\n"},
		{[]string{"apps:create", "shop"}, nil, errNotRepo, 0, nil,
			"remote-output\nGit remote: ssh://paas@h:2222/shop.git (not in a git repository: git remote add paas ssh://paas@h:2222/shop.git)\n"},
		{[]string{"apps:create", "shop"}, nil, errors.New("boom"), 1, nil, "remote-output\n"},
	} {
		env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h:2222"}, "")
		env.GitRemote = func(name string) string { return tc.existing[name] }
		var added []string
		env.GitAddRemote = func(name, url string) error {
			if tc.addErr == nil {
				added = []string{name, url}
			}
			return tc.addErr
		}
		env.Exec = func([]string) error { return errors.New("exec used: the remote would never be added") }
		var out, errb bytes.Buffer
		env.Stdout, env.Stderr = &out, &errb
		if st := Main(tc.args, env); st != tc.status || out.String() != tc.stdout || !slices.Equal(added, tc.added) {
			t.Errorf("%q: status %d, stdout %q, stderr %q, added %q", tc.args, st, out.String(), errb.String(), added)
		}
		if got := recorded(t, record); got[len(got)-1] != "apps:create shop" {
			t.Errorf("%q ran ssh %q", tc.args, got)
		}
	}
	// A failed apps:create adds nothing.
	t.Setenv("FAKE_SSH_STATUS", "1")
	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h"}, "")
	env.GitAddRemote = func(string, string) error { t.Error("remote added after a failure"); return nil }
	env.Stdout, env.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
	if st := Main([]string{"apps:create", "shop"}, env); st != 1 {
		t.Errorf("failed apps:create: status %d", st)
	}
}

// TestOpen: open prints the URL apps:info --json gives, and opens it
// only when stdout is a terminal and there is a display or $BROWSER.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "args")
	script := filepath.Join(dir, "ssh")
	body := "#!/bin/bash\nprintf '%s\\0' \"$@\" > " + shellwords.Quote(record) + "\n" +
		"printf '{\"name\": \"shop\", \"url\": \"https://shop.example.com\", \"release\": 2}\\n'\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		vars     map[string]string
		terminal bool
		opened   bool
	}{
		{map[string]string{"DISPLAY": ":0"}, true, true},
		{map[string]string{"BROWSER": "firefox"}, true, true},
		{map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, true, true},
		{map[string]string{"DISPLAY": ":0"}, false, false},
		{nil, true, false},
	} {
		vars := map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "PAAS_APP": "shop"}
		for k, v := range tc.vars {
			vars[k] = v
		}
		env := envOf(vars, "")
		env.StdoutIsTerminal = tc.terminal
		var opened []string
		env.OpenURL = func(u string) error { opened = append(opened, u); return nil }
		var out, errb bytes.Buffer
		env.Stdout, env.Stderr = &out, &errb
		if st := Main([]string{"open"}, env); st != 0 || out.String() != "https://shop.example.com\n" || errb.Len() != 0 {
			t.Errorf("%v: status %d, stdout %q, stderr %q", tc.vars, st, out.String(), errb.String())
		}
		if want := tc.opened; (len(opened) == 1 && opened[0] == "https://shop.example.com") != want || len(opened) > 1 {
			t.Errorf("%v, terminal %v: opened %q", tc.vars, tc.terminal, opened)
		}
		if got := recorded(t, record); got[len(got)-1] != "apps:info shop --json" {
			t.Errorf("open ran ssh %q", got)
		}
	}
	// A server that names no URL: one line, exit 1.
	if err := os.WriteFile(script, []byte("#!/bin/bash\necho '{\"name\": \"shop\", \"url\": null}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "PAAS_APP": "shop"}, "")
	var out, errb bytes.Buffer
	env.Stdout, env.Stderr = &out, &errb
	if st := Main([]string{"open"}, env); st != 1 || out.Len() != 0 || errb.String() != "paas: the server names no URL for shop\n" {
		t.Errorf("open without url: %d %q %q", st, out.String(), errb.String())
	}
	if !strings.HasPrefix(errb.String(), "paas: ") {
		t.Error("not one paas: line")
	}
}
