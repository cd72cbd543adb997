package store

import (
	"errors"
	"strings"
	"testing"

	"paas"

	bolt "go.etcd.io/bbolt"
)

func drainURLs(ds []Drain) string {
	var urls []string
	for _, d := range ds {
		urls = append(urls, d.URL)
	}
	return strings.Join(urls, " ")
}

func TestDrains(t *testing.T) {
	s, path := open(t)
	for _, a := range []string{"blog", "shop"} {
		if _, err := s.CreateApp(a, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	secret := "https://u:hunter2@logs.example.com/in?token=abc"
	for _, u := range []string{"syslog://b.example:514", "syslog+tls://a.example:6514", secret} {
		if err := s.AddDrain("blog", Drain{URL: u, Token: "d." + u[:3]}); err != nil {
			t.Fatalf("adding %s: %v", u, err)
		}
	}
	// Listed in the order added, with the token and a time.
	ds, err := s.Drains("blog")
	if err != nil || drainURLs(ds) != "syslog://b.example:514 syslog+tls://a.example:6514 "+secret {
		t.Fatalf("drains = %v, %v", ds, err)
	}
	if ds[0].Token != "d.sys" || ds[0].Added.IsZero() {
		t.Fatalf("drain record %+v", ds[0])
	}

	// A duplicate is refused without echoing the URL (it may hold a secret).
	err = s.AddDrain("blog", Drain{URL: secret})
	var pe *paas.Error
	if !errors.As(err, &pe) || strings.Contains(pe.Msg, "hunter2") || !strings.Contains(pe.Msg, "already has this drain") {
		t.Fatalf("duplicate: %v", err)
	}
	// The same URL on another app is fine; an unknown app is not.
	if err := s.AddDrain("shop", Drain{URL: secret}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDrain("nope", Drain{URL: secret}); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
	if ds, _ := s.Drains("nope"); len(ds) != 0 {
		t.Fatalf("unknown app has drains %v", ds)
	}

	// Removing.
	if err := s.RemoveDrain("blog", "syslog://nope.example:1"); !errors.As(err, &pe) || pe.Msg != "blog has no such drain" {
		t.Fatalf("removing a missing drain: %v", err)
	}
	if err := s.RemoveDrain("blog", "syslog+tls://a.example:6514"); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.Drains("blog"); drainURLs(ds) != "syslog://b.example:514 "+secret {
		t.Fatalf("after remove: %v", ds)
	}
	// The last one removed leaves no bucket behind; adding again works.
	if err := s.RemoveDrain("shop", secret); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDrain("shop", secret); !errors.As(err, &pe) {
		t.Fatalf("removing twice: %v", err)
	}
	if err := s.AddDrain("shop", Drain{URL: "syslog://c.example:514"}); err != nil {
		t.Fatal(err)
	}

	// Everything survives a reopen.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	all, damaged, err := s2.AllDrains()
	if err != nil || len(damaged) != 0 || len(all) != 2 || drainURLs(all["blog"]) != "syslog://b.example:514 "+secret || drainURLs(all["shop"]) != "syslog://c.example:514" {
		t.Fatalf("after reopen: %v, %v", all, err)
	}

	// DeleteDrains forgets an app's drains; twice is fine.
	for range 2 {
		if err := s2.DeleteDrains("blog"); err != nil {
			t.Fatal(err)
		}
	}
	if all, _, _ := s2.AllDrains(); len(all) != 1 || all["blog"] != nil {
		t.Fatalf("after DeleteDrains: %v", all)
	}
}

// A drain record that does not decode costs that drain only: the others
// are read, listed, removed and added as before, and adding a drain to
// the app clears the damaged record.
func TestDamagedDrain(t *testing.T) {
	s, _ := open(t)
	if _, err := s.CreateApp("blog", "alice"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"syslog://lost.example:514", "syslog://kept.example:514"} {
		if err := s.AddDrain("blog", Drain{URL: u, Token: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDrains).Bucket([]byte("blog"))
		k, _ := b.Cursor().First()
		return b.Put(append([]byte(nil), k...), []byte("{\"url\":\"\xff\x00 garbled"))
	})
	if err != nil {
		t.Fatal(err)
	}
	all, damaged, err := s.AllDrains()
	if err != nil || drainURLs(all["blog"]) != "syslog://kept.example:514" || damaged["blog"] != 1 {
		t.Fatalf("AllDrains = %v, %v, %v", all, damaged, err)
	}
	if ds, err := s.Drains("blog"); err != nil || drainURLs(ds) != "syslog://kept.example:514" {
		t.Fatalf("Drains = %v, %v", ds, err)
	}
	if err := s.AddDrain("blog", Drain{URL: "syslog://kept.example:514"}); err == nil {
		t.Fatal("a duplicate of the kept drain was added")
	}
	if err := s.AddDrain("blog", Drain{URL: "syslog://lost.example:514", Token: "t"}); err != nil {
		t.Fatalf("adding the lost drain again: %v", err)
	}
	all, damaged, err = s.AllDrains()
	if err != nil || drainURLs(all["blog"]) != "syslog://kept.example:514 syslog://lost.example:514" || len(damaged) != 0 {
		t.Fatalf("after adding it again: %v, %v, %v", all, damaged, err)
	}
	if err := s.RemoveDrain("blog", "syslog://kept.example:514"); err != nil {
		t.Fatal(err)
	}
}
