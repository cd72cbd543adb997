package certs

import (
	"context"
	"testing"
	"time"
)

// TestRenameOptions moves the certificate a user brought for an app to
// the app's new name: it serves the app's host under the new name, and
// destroying the app removes it.
func TestRenameOptions(t *testing.T) {
	r := routes{"shop.example.com": "shop"}
	st := openStore(t, dbPath(t))
	t.Cleanup(func() { st.Close() })
	httpLn, httpsLn := listeners(t)
	fd := serve(t, Config{Store: st, Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf}, httpLn, httpsLn)
	ctx := context.Background()
	if _, err := st.CreateApp("shop", "alice"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c, k := selfSigned(t, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	if _, err := fd.m.Add(ctx, "shop", c, k); err != nil {
		t.Fatal(err)
	}
	// The host follows the app (no handshake runs in this test: the
	// routes are read from this goroutine only).
	delete(r, "shop.example.com")
	r["shop.example.com"] = "new-shop"
	if err := st.RenameApp("shop", "new-shop", RenameOptions("new-shop")); err != nil {
		t.Fatal(err)
	}
	if err := fd.m.Reload(); err != nil {
		t.Fatal(err)
	}
	list, err := fd.m.List(ctx, "new-shop")
	if err != nil || len(list) != 1 || list[0].Source != "user" {
		t.Fatalf("certificates of the new name: %+v %v", list, err)
	}
	if old, _ := fd.m.List(ctx, "shop"); len(old) != 0 {
		t.Errorf("certificates left under the old name: %+v", old)
	}
	if err := fd.m.RemoveApp("new-shop"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := st.CertKeys(userPrefix); len(keys) != 0 {
		t.Errorf("blobs left after destroying the renamed app: %v", keys)
	}
}
