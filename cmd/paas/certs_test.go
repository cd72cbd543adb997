package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"paas/shellwords"
)

func TestCertsAddSendsFilesOnStdin(t *testing.T) {
	dir := t.TempDir()
	record, stdin := filepath.Join(dir, "args"), filepath.Join(dir, "stdin")
	script := filepath.Join(dir, "ssh")
	body := "#!/bin/bash\nprintf '%s\\0' \"$@\" > " + shellwords.Quote(record) + "\ncat > " + shellwords.Quote(stdin) + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, []byte("CERT"), 0o600) // no final newline: one is added
	os.WriteFile(keyFile, []byte("KEY\n"), 0o600)

	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "PAAS_APP": "shop"}, "")
	var out, errb bytes.Buffer
	env.Stdout, env.Stderr = &out, &errb
	// Replacing the process would lose the files: ssh must run as a child.
	env.Exec = func([]string) error { return errors.New("exec used") }
	if st := Main([]string{"certs:add", certFile, keyFile}, env); st != 0 {
		t.Fatalf("status %d, stderr %q", st, errb.String())
	}
	if got, want := recorded(t, record), []string{"-o", "SetEnv=PAAS_CLIENT=1", "-T", "paas@h", "certs:add shop"}; !slices.Equal(got, want) {
		t.Errorf("ssh %q, want %q", got, want)
	}
	if got, _ := os.ReadFile(stdin); string(got) != "CERT\nKEY\n" {
		t.Errorf("stdin %q", got)
	}

	for _, args := range [][]string{
		{"certs:add", certFile},
		{"certs:add", certFile, filepath.Join(dir, "missing.pem")},
	} {
		errb.Reset()
		if st := Main(args, env); st == 0 || !strings.HasPrefix(errb.String(), "paas: ") {
			t.Errorf("Main(%q): status %d, stderr %q", args, st, errb.String())
		}
	}
}

func TestKeysAddSendsTheFileOnStdin(t *testing.T) {
	dir := t.TempDir()
	record, stdin := filepath.Join(dir, "args"), filepath.Join(dir, "stdin")
	script := filepath.Join(dir, "ssh")
	body := "#!/bin/bash\nprintf '%s\\0' \"$@\" > " + shellwords.Quote(record) + "\ncat > " + shellwords.Quote(stdin) + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "bob.pub")
	os.WriteFile(keyFile, []byte("ssh-ed25519 AAAA bob@laptop\n"), 0o600)
	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h"}, "")
	var out, errb bytes.Buffer
	env.Stdout, env.Stderr = &out, &errb
	env.StdinIsTerminal = true // the file, not the terminal, is read
	env.Exec = func([]string) error { return errors.New("exec used") }
	if st := Main([]string{"keys:add", "bob", keyFile, "--admin"}, env); st != 0 {
		t.Fatalf("status %d, stderr %q", st, errb.String())
	}
	if got, want := recorded(t, record), []string{"-o", "SetEnv=PAAS_CLIENT=1", "-T", "paas@h", "keys:add bob --admin"}; !slices.Equal(got, want) {
		t.Errorf("ssh %q, want %q", got, want)
	}
	if got, _ := os.ReadFile(stdin); string(got) != "ssh-ed25519 AAAA bob@laptop\n" {
		t.Errorf("stdin %q", got)
	}
}
