package certs

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"
)

func TestStorageRoundTrip(t *testing.T) {
	path := dbPath(t)
	st := openStore(t, path)
	s := NewStorage(st)
	ctx := context.Background()
	for _, k := range []string{"certificates/ca/a.example/a.crt", "certificates/ca/a.example/a.key", "certificates/ca/b.example/b.crt", "acme/ca/users/x.json", "top"} {
		if err := s.Store(ctx, k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Store(ctx, "", []byte("x")); err == nil {
		t.Error("storing at an empty key succeeded")
	}
	if v, err := s.Load(ctx, "certificates/ca/a.example/a.crt"); err != nil || string(v) != "v:certificates/ca/a.example/a.crt" {
		t.Errorf("Load = %q, %v", v, err)
	}
	if _, err := s.Load(ctx, "certificates/ca"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a directory: %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Load(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing key: %v, want fs.ErrNotExist", err)
	}

	list := func(dir string, rec bool) []string {
		t.Helper()
		got, err := s.List(ctx, dir, rec)
		if err != nil {
			t.Fatalf("List(%q, %v): %v", dir, rec, err)
		}
		return got
	}
	if got, want := list("certificates", false), []string{"certificates/ca"}; !slices.Equal(got, want) {
		t.Errorf("List non-recursive = %q, want %q", got, want)
	}
	if got, want := list("certificates/ca", false), []string{"certificates/ca/a.example", "certificates/ca/b.example"}; !slices.Equal(got, want) {
		t.Errorf("List non-recursive = %q, want %q", got, want)
	}
	want := []string{"certificates/ca", "certificates/ca/a.example", "certificates/ca/a.example/a.crt", "certificates/ca/a.example/a.key", "certificates/ca/b.example", "certificates/ca/b.example/b.crt"}
	if got := list("certificates/", true); !slices.Equal(got, want) {
		t.Errorf("List recursive = %q, want %q", got, want)
	}
	if got, want := list("", false), []string{"acme", "certificates", "top"}; !slices.Equal(got, want) {
		t.Errorf("List of the root = %q, want %q", got, want)
	}
	if _, err := s.List(ctx, "certificates/c", false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List of a missing dir (a key prefix but no directory): %v", err)
	}

	before := time.Now().Add(-time.Second)
	ki, err := s.Stat(ctx, "certificates/ca/a.example/a.key")
	if err != nil || !ki.IsTerminal || ki.Size != int64(len("v:certificates/ca/a.example/a.key")) || ki.Modified.Before(before) {
		t.Errorf("Stat of a value = %+v, %v", ki, err)
	}
	if ki, err := s.Stat(ctx, "certificates/ca"); err != nil || ki.IsTerminal {
		t.Errorf("Stat of a directory = %+v, %v", ki, err)
	}
	if _, err := s.Stat(ctx, "certificates/c"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a missing key: %v", err)
	}
	if !s.Exists(ctx, "certificates/ca/b.example") || !s.Exists(ctx, "top") || s.Exists(ctx, "certificates/ca/b.ex") {
		t.Error("Exists is wrong")
	}

	// Deleting a directory deletes what is below it, and nothing that
	// merely shares its prefix.
	if err := s.Store(ctx, "certificates/ca/a.example2/x", []byte("keep")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "certificates/ca/a.example"); err != nil {
		t.Fatal(err)
	}
	if s.Exists(ctx, "certificates/ca/a.example/a.crt") || s.Exists(ctx, "certificates/ca/a.example") {
		t.Error("Delete left the directory's keys")
	}
	if !s.Exists(ctx, "certificates/ca/a.example2/x") || !s.Exists(ctx, "certificates/ca/b.example/b.crt") {
		t.Error("Delete removed a sibling")
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}

	// A reopened store has the values (they live in the bbolt file).
	st.Close()
	s = NewStorage(openStore(t, path))
	if v, err := s.Load(ctx, "top"); err != nil || string(v) != "v:top" {
		t.Errorf("after reopening, Load = %q, %v", v, err)
	}
}

func TestStorageLocks(t *testing.T) {
	s := NewStorage(openStore(t, dbPath(t)))
	ctx := context.Background()
	if err := s.Lock(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Lock(ctx, "b"); err != nil {
		t.Fatalf("another name is not held by a: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.Lock(short, "a"); err == nil {
		t.Fatal("a held lock was taken again")
	}
	got := make(chan error, 1)
	go func() { got <- s.Lock(ctx, "a") }()
	if err := s.Unlock(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiter did not get the released lock")
	}
	if err := s.Unlock(ctx, "nope"); err == nil {
		t.Error("unlocking a free lock succeeded")
	}
}
