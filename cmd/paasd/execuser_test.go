package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/user"

	"paas/store"
)

// TestExecUsers makes an account of its own the way paasd makes
// paas-app, and checks the per-app ids it hands out.
func TestExecUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making accounts needs root")
	}
	name := fmt.Sprintf("paas-t%d", os.Getpid()%100000)
	if _, err := user.LookupUser(name); err == nil {
		t.Fatalf("account %s exists already", name)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "--", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v %s", name, err, out)
		}
	})
	st, err := store.Open(filepath.Join(t.TempDir(), "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)

	// Named explicitly, a missing account is refused, not made.
	_, err = setupExecUsers(config{ExecUser: name, ExecUserSet: true}, st, log)
	if err == nil || err.Error() != fmt.Sprintf("PAAS_EXEC_USER: there is no account %q on this host", name) {
		t.Fatalf("missing explicit account: %v", err)
	}
	if _, err := user.LookupUser(name); err == nil {
		t.Fatal("a missing explicit account was made")
	}

	u, err := setupExecUsers(config{ExecUser: name}, st, log)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := user.LookupUser(name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(acct.Shell, "nologin") || acct.Home != "/nonexistent" || acct.Uid >= 1000 {
		t.Errorf("account %+v: want a system account with no login shell and no home", acct)
	}
	ids, err := user.LoadIdentityMapping(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids.UIDMaps) != 1 || ids.UIDMaps[0].Count != subIDCount || len(ids.GIDMaps) != 1 || ids.GIDMaps[0].Count != subIDCount {
		t.Fatalf("ranges %+v, want one of %d uids and gids", ids, subIDCount)
	}
	// The account's ranges overlap no other account's.
	for _, path := range []string{"/etc/subuid", "/etc/subgid"} {
		all, err := user.ParseSubIDFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			for _, b := range all {
				if a != b && a.SubID < b.SubID+b.Count && b.SubID < a.SubID+a.Count {
					t.Errorf("%s: %+v overlaps %+v", path, a, b)
				}
			}
		}
	}

	first := uint32(ids.UIDMaps[0].ParentID)
	firstGID := uint32(ids.GIDMaps[0].ParentID)
	for i, app := range []string{"one", "two", "one"} {
		c, err := u.Credential(app)
		if err != nil {
			t.Fatal(err)
		}
		n := uint32(i % 2)
		if c.Uid != first+n || c.Gid != firstGID+n || len(c.Groups) != 0 || c.NoSetGroups {
			t.Errorf("credential of %s = %+v, want uid %d gid %d and no groups", app, c, first+n, firstGID+n)
		}
	}

	// The next start finds the account and its ids as they were.
	again, err := setupExecUsers(config{ExecUser: name, ExecUserSet: true}, st, log)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := again.Credential("two"); err != nil || c.Uid != first+1 {
		t.Errorf("credential of two after a restart = %+v, %v", c, err)
	}
}
