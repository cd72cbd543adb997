package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"paas"
	"paas/store"
)

func TestAuditKeepSetting(t *testing.T) {
	load := func(env map[string]string, args ...string) (config, error) {
		return loadConfig(args, func(k string) string { return env[k] }, io.Discard)
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want int
	}{
		{nil, nil, 10000},
		{map[string]string{"PAAS_AUDIT_KEEP": "500"}, nil, 500},
		{map[string]string{"PAAS_AUDIT_KEEP": "500"}, []string{"-audit-keep", "20"}, 20},
	} {
		if got, err := load(c.env, c.args...); err != nil || got.AuditKeep != c.want {
			t.Errorf("%v %v: %d, %v; want %d", c.env, c.args, got.AuditKeep, err, c.want)
		}
	}
	for _, bad := range []string{"0", "-1", "many"} {
		if _, err := load(map[string]string{"PAAS_AUDIT_KEEP": bad}); err == nil || !strings.HasPrefix(err.Error(), "PAAS_AUDIT_KEEP: ") {
			t.Errorf("PAAS_AUDIT_KEEP=%s: %v", bad, err)
		}
	}
	if _, err := load(nil, "-audit-keep", "0"); err == nil || !strings.HasPrefix(err.Error(), "PAAS_AUDIT_KEEP: ") {
		t.Errorf("-audit-keep 0: %v", err)
	}
}

// The gateway's audit log keeps the newest PAAS_AUDIT_KEEP entries.
func TestAuditLogKeeps(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := auditLog{st: st, keep: 2}
	for _, cmd := range []string{"apps", "whoami", "keys"} {
		if err := a.Record(paas.AuditEntry{User: "alice", Command: cmd}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.Entries(10)
	if err != nil || len(got) != 2 || got[0].Command != "whoami" || got[1].Command != "keys" {
		t.Errorf("entries %+v, %v; want whoami and keys", got, err)
	}
}
