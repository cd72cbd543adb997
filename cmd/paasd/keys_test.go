package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paas/store"
)

// newPublicKey makes a key pair with ssh-keygen and returns the public
// key's authorized_keys line.
func newPublicKey(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	path := filepath.Join(t.TempDir(), "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "k", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(pub))
}

// TestKeysAddOptions checks that keys:add keeps the options paasd
// enforces and refuses, naming the line, those it does not.
func TestKeysAddOptions(t *testing.T) {
	cfg := config{DataDir: t.TempDir()}
	key, other := newPublicKey(t), newPublicKey(t)
	run := func(cmd string, stdin string, args ...string) (int, string, string) {
		var out, errb strings.Builder
		st := keysCommand(cfg, cmd, args, strings.NewReader(stdin), &out, &errb)
		return st, out.String(), errb.String()
	}

	in := key + "\n# a comment\n\ncommand=\"/bin/sh\" " + other + "\n"
	st, out, errs := run("keys:add", in, "bob")
	if st != 1 || out != "" || !strings.HasPrefix(errs, "paasd: stdin:4: authorized_keys option command is not supported by paasd (supported: from=, ") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("keys:add with command=: status %d, stdout %q, stderr %q", st, out, errs)
	}
	st, out, errs = run("keys:add", "not a key\n", "bob")
	if st != 1 || errs != "paasd: stdin:1: not a public key in authorized_keys format\n" {
		t.Fatalf("keys:add of junk: status %d, stdout %q, stderr %q", st, out, errs)
	}
	// Nothing was added.
	if st, out, _ := run("keys", ""); st != 0 || out != "" {
		t.Fatalf("keys after refused adds: %d %q", st, out)
	}

	if st, _, errs := run("keys:add", `from="10.0.0.0/8,!10.1.2.3",no-pty `+key+"\n", "bob"); st != 0 {
		t.Fatalf("keys:add with from= and no-pty: %s", errs)
	}
	st, out, _ = run("keys", "")
	if st != 0 || !strings.HasPrefix(out, "bob\tSHA256:") || !strings.HasSuffix(out, "\tfrom=\"10.0.0.0/8,!10.1.2.3\",no-pty\n") {
		t.Fatalf("keys: %d %q", st, out)
	}
	st2, err := store.Open(filepath.Join(cfg.DataDir, "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	keys, err := st2.Keys()
	if err != nil || len(keys) != 1 || strings.Join(keys[0].Options, "|") != `from="10.0.0.0/8,!10.1.2.3"|no-pty` {
		t.Fatalf("stored keys: %+v, %v", keys, err)
	}
}

// TestServeRefusesUnenforceableKeys checks that paasd does not start on
// an authorized_keys file with an option it cannot enforce, and says
// which line, before it touches anything.
func TestServeRefusesUnenforceableKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "authorized_keys")
	lines := newPublicKey(t) + "\n" + `from="*.example.com" ` + newPublicKey(t) + "\n"
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config{
		DataDir: filepath.Join(dir, "data"), AuthorizedKeys: file, LogFormat: "text", Runtime: "exec",
		SSHAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", LogRetention: minLogRetention,
	}
	// A paasd that starts anyway stops after a while.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := serve(ctx, cfg, io.Discard)
	want := "PAAS_AUTHORIZED_KEYS: " + file + `:2: authorized_keys option from="*.example.com": "*.example.com" names a host`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("serve: %v, want %s...", err, want)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "paas.db")); err == nil {
		t.Error("the store was created")
	}
}

// TestKeysAddMakesAdmins checks that paasd keys:add, run while paasd is
// stopped, makes its user an admin, adds a second key to the same user,
// and refuses, adding nothing, a bad user name or a key another user has.
func TestKeysAddMakesAdmins(t *testing.T) {
	cfg := config{DataDir: t.TempDir()}
	key, second := newPublicKey(t), newPublicKey(t)
	run := func(cmd string, stdin string, args ...string) (int, string, string) {
		var out, errb strings.Builder
		st := keysCommand(cfg, cmd, args, strings.NewReader(stdin), &out, &errb)
		return st, out.String(), errb.String()
	}
	if st, out, errs := run("keys:add", key, "Alice Smith"); st != 2 || out != "" || errs != "paasd: invalid user name \"Alice Smith\": use a lower-case letter followed by up to 29 lower-case letters, digits or dashes\n" {
		t.Fatalf("keys:add with a bad name: %d %q %q", st, out, errs)
	}
	if st, out, errs := run("keys:add", key, "alice"); st != 0 || !strings.HasPrefix(out, "Added key alice SHA256:") || !strings.HasSuffix(out, " to admin alice\n") {
		t.Fatalf("keys:add alice: %d %q %q", st, out, errs)
	}
	// The same key again changes nothing and says so as before.
	if st, _, errs := run("keys:add", key, "alice"); st != 0 {
		t.Fatalf("keys:add of alice's key again: %d %q", st, errs)
	}
	if st, _, errs := run("keys:add", second, "alice"); st != 0 {
		t.Fatalf("keys:add of alice's second key: %d %q", st, errs)
	}
	st, out, errs := run("keys:add", newPublicKey(t)+"\n"+second, "bob")
	if st != 1 || out != "" || !strings.HasPrefix(errs, "paasd: key SHA256:") || !strings.HasSuffix(errs, " already belongs to user alice\n") {
		t.Fatalf("keys:add of alice's key to bob: %d %q %q", st, out, errs)
	}

	s, err := store.Open(filepath.Join(cfg.DataDir, "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	users, err := s.Users()
	if err != nil || len(users) != 1 || users[0].Name != "alice" || !users[0].Admin || users[0].CreatedBy != "paasd keys:add" {
		t.Fatalf("users: %+v %v", users, err)
	}
	keys, err := s.KeysOf("alice")
	if err != nil || len(keys) != 2 {
		t.Fatalf("alice's keys: %+v %v", keys, err)
	}
}

// TestAdmitKeysMakesAdmins checks that the keys of PAAS_AUTHORIZED_KEYS
// become admin users named after their comments, again at each start.
func TestAdmitKeysMakesAdmins(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "authorized_keys")
	a, b := newPublicKey(t), newPublicKey(t)
	// newPublicKey's keys have the comment "k".
	lines := strings.TrimSuffix(a, " k") + " Alice@laptop\n" + strings.TrimSuffix(b, " k") + "\n"
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(filepath.Join(dir, "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 2 {
		keys, err := readAuthorizedKeysFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := admitKeys(slog.New(slog.DiscardHandler), s, keys); err != nil {
			t.Fatalf("admitting the keys: %v", err)
		}
	}
	users, err := s.Users()
	if err != nil || len(users) != 2 || users[0].Name != "admin" || users[1].Name != "alice-laptop" || !users[0].Admin || !users[1].Admin {
		t.Fatalf("users: %+v %v", users, err)
	}
	keys, err := s.Keys()
	if err != nil || len(keys) != 2 || keys[1].Name != "Alice@laptop" || keys[1].User != "alice-laptop" || keys[1].AddedBy != "PAAS_AUTHORIZED_KEYS" {
		t.Fatalf("keys: %+v %v", keys, err)
	}

	// A comment changed in the file since: the key stays its user's, and
	// paasd starts.
	lines = strings.TrimSuffix(a, " k") + " alice\n"
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := readAuthorizedKeysFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := admitKeys(slog.New(slog.DiscardHandler), s, again); err != nil {
		t.Fatalf("admitting a key whose comment changed: %v", err)
	}
	if k, _, _ := s.KeyByFingerprint(again[0].Fingerprint); k.User != "alice-laptop" || k.Name != "alice" {
		t.Fatalf("the renamed key: %+v", k)
	}
}

// TestWarnWithoutAdmin checks that paasd warns at start while no admin
// has a key, says how to add one, and stops warning once one does; and
// that paasd keys says when there are none.
func TestWarnWithoutAdmin(t *testing.T) {
	cfg := config{DataDir: t.TempDir()}
	var out, errb strings.Builder
	if st := keysCommand(cfg, "keys", nil, strings.NewReader(""), &out, &errb); st != 0 || out.String() != "" ||
		errb.String() != "paasd: no keys yet: add an admin's with paasd keys:add NAME < KEY.pub\n" {
		t.Fatalf("keys on an empty store: %d %q %q", st, out.String(), errb.String())
	}
	warned := func() string {
		s, err := store.Open(filepath.Join(cfg.DataDir, "paas.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var buf strings.Builder
		if err := warnWithoutAdmin(slog.New(slog.NewTextHandler(&buf, nil)), s); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	if w := warned(); !strings.Contains(w, "level=WARN") || !strings.Contains(w, "NO ADMIN KEY") || !strings.Contains(w, "paasd keys:add NAME") || !strings.Contains(w, "PAAS_AUTHORIZED_KEYS") {
		t.Fatalf("no warning on a store without admins: %q", w)
	}
	if st := keysCommand(cfg, "keys:add", []string{"root"}, strings.NewReader(newPublicKey(t)), &out, &errb); st != 0 {
		t.Fatalf("keys:add: %s", errb.String())
	}
	if w := warned(); w != "" {
		t.Fatalf("warned with an admin key stored: %q", w)
	}
}
