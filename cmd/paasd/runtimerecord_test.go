package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"paas"
	"paas/store"
)

func TestCheckRuntime(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	// start is a start of paasd as far as the runtime goes: checked,
	// then recorded once the server is ready.
	start := func(st *store.Store, setting, picked string) error {
		if err := checkRuntime(st, setting, picked, log); err != nil {
			return err
		}
		return recordRuntime(st, picked)
	}
	open := func(t *testing.T) *store.Store {
		st, err := store.Open(filepath.Join(t.TempDir(), "paas.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	recorded := func(t *testing.T, st *store.Store, want string) {
		t.Helper()
		if got, err := st.Runtime(); err != nil || got != want {
			t.Errorf("recorded runtime %q, %v; want %q", got, err, want)
		}
	}
	deployed := func(t *testing.T, st *store.Store, slug string) {
		t.Helper()
		if _, err := st.CreateApp("old", "admin"); err != nil {
			t.Fatal(err)
		}
		rel, err := st.Deploy("old", paas.Build{Number: 1, Slug: slug, ProcessTypes: map[string]string{"web": "x"}}, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Activate("old", rel.Version); err != nil {
			t.Fatal(err)
		}
	}
	oneLine := func(t *testing.T, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatal("started, want a refusal")
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("refusal %q lacks %q", err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("refusal is not one line: %q", err)
		}
	}

	t.Run("first start records", func(t *testing.T) {
		st := open(t)
		if err := start(st, "auto", "exec"); err != nil {
			t.Fatal(err)
		}
		recorded(t, st, "exec")
		if err := start(st, "auto", "exec"); err != nil {
			t.Fatalf("same runtime again: %v", err)
		}
	})
	t.Run("auto refuses to leave docker", func(t *testing.T) {
		st := open(t)
		if err := st.SetRuntime("docker"); err != nil {
			t.Fatal(err)
		}
		oneLine(t, start(st, "auto", "exec"), "ran its apps on the docker runtime", "PAAS_RUNTIME=exec")
		recorded(t, st, "docker")
		// Set explicitly, it switches.
		if err := start(st, "exec", "exec"); err != nil {
			t.Fatal(err)
		}
		recorded(t, st, "exec")
	})
	t.Run("auto refuses to leave exec", func(t *testing.T) {
		st := open(t)
		if err := st.SetRuntime("exec"); err != nil {
			t.Fatal(err)
		}
		oneLine(t, start(st, "auto", "docker"), "ran its apps on the exec runtime", "PAAS_RUNTIME=exec", "PAAS_RUNTIME=docker")
		recorded(t, st, "exec")
	})
	t.Run("a store from before the record", func(t *testing.T) {
		st := open(t)
		deployed(t, st, "paas/old:b1")
		oneLine(t, start(st, "auto", "exec"), "docker runtime")
		recorded(t, st, "")

		st = open(t)
		deployed(t, st, "/var/lib/paas/slugs/old/b1")
		if err := start(st, "auto", "exec"); err != nil {
			t.Fatal(err)
		}
		recorded(t, st, "exec")
	})
}

func TestExecUserSetting(t *testing.T) {
	load := func(args []string, env map[string]string) (config, error) {
		return loadConfig(args, func(k string) string { return env[k] }, io.Discard)
	}
	c, err := load(nil, nil)
	if err != nil || c.ExecUser != "paas-app" || c.ExecUserSet {
		t.Errorf("default: %q set=%v, %v", c.ExecUser, c.ExecUserSet, err)
	}
	c, err = load(nil, map[string]string{"PAAS_EXEC_USER": "apps"})
	if err != nil || c.ExecUser != "apps" || !c.ExecUserSet {
		t.Errorf("PAAS_EXEC_USER=apps: %q set=%v, %v", c.ExecUser, c.ExecUserSet, err)
	}
	c, err = load([]string{"--exec-user", "paas-app"}, nil)
	if err != nil || !c.ExecUserSet {
		t.Errorf("--exec-user paas-app: set=%v, %v", c.ExecUserSet, err)
	}
	for _, bad := range []string{"-rf", "a:b", "Root", "a b", "../x", strings.Repeat("a", 33)} {
		if _, err := load(nil, map[string]string{"PAAS_EXEC_USER": bad}); err == nil || !strings.HasPrefix(err.Error(), "PAAS_EXEC_USER: ") {
			t.Errorf("PAAS_EXEC_USER=%q: %v, want a refusal", bad, err)
		}
	}
}
