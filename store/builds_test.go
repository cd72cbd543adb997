package store

import (
	"testing"
	"time"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// TestBuilds records a succeeded, a failed and an interrupted build, and
// reads a record written before builds had a status, pusher or start.
func TestBuilds(t *testing.T) {
	s, _ := open(t)
	if _, err := s.CreateApp("hello", "alice"); err != nil {
		t.Fatal(err)
	}
	// A record in the format of older paasd versions: no Status, By or
	// StartedAt; its pusher is the author of the release of it.
	old := []byte(`{"App":"hello","Number":1,"Commit":"0123456789abcdef","Slug":"/s/b1","ProcessTypes":{"web":"x"},"Buildpacks":null,"CreatedAt":"2026-01-02T03:04:05Z"}`)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := appBucket(tx, bucketBuilds, "hello")
		if err != nil {
			return err
		}
		return b.Put(itob(1), old)
	}); err != nil {
		t.Fatal(err)
	}
	s.db.Update(func(tx *bolt.Tx) error {
		rec, _ := loadApp(tx, "hello")
		rec.LastBuild = 1
		_, err := addRelease(tx, rec, paas.Release{Build: 1, Commit: "0123456789abcdef", CreatedBy: "olduser"})
		return err
	})

	n, _ := s.ReserveBuild("hello")
	if err := s.StartBuild("hello", paas.Build{Number: n, Commit: "bbbbbbbbbbbb", By: "bob"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListBuilds("hello")
	if err != nil || len(list) != 2 || list[0].Status != paas.StatusPending || list[0].By != "bob" || list[0].StartedAt.IsZero() {
		t.Fatalf("pending: %+v %v", list, err)
	}
	if err := s.FailBuild("hello", n, "no buildpack"); err != nil {
		t.Fatal(err)
	}
	n3, _ := s.ReserveBuild("hello")
	s.StartBuild("hello", paas.Build{Number: n3, Commit: "cccccccccccc", By: "carol"})
	if _, err := s.Deploy("hello", paas.Build{Number: n3, Commit: "cccccccccccc", Slug: "/s/b3", By: "carol", Status: paas.StatusSucceeded, StartedAt: time.Now().Add(-time.Minute)}, "carol"); err != nil {
		t.Fatal(err)
	}
	n4, _ := s.ReserveBuild("hello")
	s.StartBuild("hello", paas.Build{Number: n4, Commit: "dddddddddddd", By: "dave"})
	failed, err := s.FailPendingBuilds("interrupted")
	if err != nil || len(failed) != 1 || failed[0].Number != n4 {
		t.Fatalf("FailPendingBuilds: %+v %v", failed, err)
	}

	list, err = s.ListBuilds("hello")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		n               int
		status, by, why string
	}{
		{4, paas.StatusFailed, "dave", "interrupted"},
		{3, paas.StatusSucceeded, "carol", ""},
		{2, paas.StatusFailed, "bob", "no buildpack"},
		{1, paas.StatusSucceeded, "olduser", ""},
	}
	if len(list) != len(want) {
		t.Fatalf("%d builds: %+v", len(list), list)
	}
	for i, w := range want {
		b := list[i]
		if b.Number != w.n || b.Status != w.status || b.By != w.by || b.Failure != w.why {
			t.Errorf("build %d = %+v, want %+v", i, b, w)
		}
	}
	if !list[3].StartedAt.IsZero() || list[3].CreatedAt.IsZero() {
		t.Errorf("old record's times: %+v", list[3])
	}
	if list[1].CreatedAt.Sub(list[1].StartedAt) < time.Minute {
		t.Errorf("succeeded build's times: %+v", list[1])
	}
	if _, err := s.ListBuilds("nope"); err == nil {
		t.Error("builds of a missing app")
	}
}
