package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/moby/sys/user"

	"paas/addons"
	"paas/store"
)

// TestExecAddonsUsers checks that a service of the exec runtime runs as a
// user of its own, numbered apart from the apps, and that its data stays
// reachable to it in a data dir closed to apps.
func TestExecAddonsUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running services as other users needs root")
	}
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/initdb"); err != nil {
		t.Skip("postgres add-ons need PostgreSQL 15 on this host: apt-get install postgresql-15")
	}
	dataDir, err := os.MkdirTemp("", "pad")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	if err := os.Chmod(dataDir, 0o711); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dataDir, "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const first = 231000
	users := &execUsers{
		account: "test",
		ids: user.IdentityMapping{
			UIDMaps: []user.IDMap{{ID: 0, ParentID: first, Count: 100}},
			GIDMaps: []user.IDMap{{ID: 0, ParentID: first, Count: 100}},
		},
		st:   st,
		size: 100,
	}
	app, err := users.Credential("web")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := execAddons(dataDir, users, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := confineDataDir(dataDir); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pw := addons.NewPassword()
	svc, err := ex.Create(ctx, "db", addons.Postgres, pw, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ex.Destroy(context.Background(), "db"); err != nil {
			t.Error(err)
		}
	})
	fi, err := os.Stat(filepath.Join(dataDir, "addons", "db", "data"))
	if err != nil {
		t.Fatal(err)
	}
	uid := fi.Sys().(*syscall.Stat_t).Uid
	if uid < first || uid >= first+100 || uid == app.Uid {
		t.Errorf("the service's data belongs to uid %d; the app runs as %d, ids start at %d", uid, app.Uid, first)
	}
	cmd := exec.Command("/usr/lib/postgresql/15/bin/psql", "-X", "-A", "-t", "-w", "-h", svc.Host,
		"-p", strconv.Itoa(svc.Port), "-U", svc.User, "-d", "app", "-c", "SELECT 1")
	cmd.Env = []string{"PGPASSWORD=" + pw}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("psql: %v: %s", err, out)
	}
}
