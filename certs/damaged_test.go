package certs

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"paas"
)

// TestDamagedUserCertificateIsIsolated garbles one stored certificate of
// one app: the manager still starts, the other app's certificate is
// served, the damaged one is listed and logged with what to do, and
// removing it by its id lets the app add it again.
func TestDamagedUserCertificateIsIsolated(t *testing.T) {
	r := routes{"shop.example.com": "shop", "blog.example.com": "blog"}
	path := dbPath(t)
	st := openStore(t, path)
	t.Cleanup(func() { st.Close() })
	var logged bytes.Buffer
	cfg := Config{Store: st, Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf, Logger: slog.New(slog.NewTextHandler(&logged, nil))}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	shopCert, shopKey := selfSigned(t, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	blogCert, blogKey := selfSigned(t, []string{"blog.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	for app, pems := range map[string][2][]byte{"shop": {shopCert, shopKey}, "blog": {blogCert, blogKey}} {
		if _, err := m.Add(ctx, app, pems[0], pems[1]); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()

	keys, err := st.CertKeys(userPrefix + "shop/")
	if err != nil || len(keys) != 1 {
		t.Fatalf("shop's certificate keys = %v, %v", keys, err)
	}
	if err := st.PutCertBlob(keys[0], []byte("{\"App\":\"shop\",\"Cert\":\"\x00garbage")); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(keys[0], userPrefix+"shop/")

	m, err = New(cfg)
	if err != nil {
		t.Fatalf("starting with a damaged certificate: %v", err)
	}
	t.Cleanup(m.Close)
	c, err := m.getCertificate(helloFor("blog.example.com"))
	if err != nil || c == nil || !bytes.Equal(c.Leaf.Raw, mustParse(t, blogCert).Raw) {
		t.Fatalf("the other app's certificate is not served: %v", err)
	}
	want := "certificate " + id + " of app shop is damaged in paasd's store and is not served: remove it (certs:remove shop " + id + ") and add it again (certs:add)"
	if !strings.Contains(logged.String(), want) {
		t.Errorf("paasd's log lacks %q:\n%s", want, logged.String())
	}
	list, err := m.List(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(list); len(got) != 2 || got[1] != (row{hosts: id, source: SourceDamaged}) {
		t.Fatalf("shop's certificates = %+v", got)
	}

	if err := m.Remove(ctx, "blog", id); err == nil {
		t.Fatal("another app removed shop's damaged certificate")
	} else if msg, ok := paas.UserMessage(err); !ok || msg != "blog has no certificate of its own for "+id {
		t.Fatalf("removing from the wrong app: %v", err)
	}
	if err := m.Remove(ctx, "shop", id); err != nil {
		t.Fatalf("removing the damaged certificate: %v", err)
	}
	if _, err := m.Add(ctx, "shop", shopCert, shopKey); err != nil {
		t.Fatalf("adding it again: %v", err)
	}
	list, err = m.List(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(list); len(got) != 1 || got[0].source != SourceUser {
		t.Fatalf("shop's certificates after re-adding = %+v", got)
	}
}
