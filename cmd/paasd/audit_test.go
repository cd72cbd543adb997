package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/internal/tlstest"
	"paas/logs"
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

// TestChangesNameTheUser: a change to an app made outside deploy (a
// certificate, a log drain) shows in the app's log naming the user who
// made it, with no secret of the drain's URL.
func TestChangesNameTheUser(t *testing.T) {
	p := newTestPlatform(t)
	ctx := paas.WithActor(context.Background(), "bob")
	const app, host = "named", "www.named.test"
	if _, err := p.CreateApp(ctx, app, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddDomain(ctx, app, host); err != nil {
		t.Fatal(err)
	}
	c, k, _ := tlstest.SelfSigned(t, "audit test", []string{host}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if _, err := p.AddCert(ctx, app, c, k); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveCert(ctx, app, host); err != nil {
		t.Fatal(err)
	}
	// Nothing listens there: the drain is added and fails, on loopback.
	const drain = "https://user:hunter2-pass@127.0.0.1:9/in?token=hunter2-token"
	if _, err := p.AddDrain(ctx, app, drain); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RemoveDrain(ctx, app, "1"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := p.Logs(ctx, app, logs.Query{N: -1, Filter: logs.Filter{Source: logs.SourcePaas}}, logs.Format{}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"App created by bob",
		"Domain " + host + " added by bob",
		"Certificate for " + host + " added by bob",
		"Certificate for " + host + " removed by bob",
		"Log drain https://user:***@127.0.0.1:9/in?token=*** added by bob",
		"Log drain https://user:***@127.0.0.1:9/in?token=*** removed by bob",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no line %q in the app's log:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("a drain's secret in the app's log:\n%s", out.String())
	}
}
