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

// stdinRecorder is an ssh that records its arguments and its stdin.
func stdinRecorder(t *testing.T) (script, record, stdin string) {
	dir := t.TempDir()
	record, stdin = filepath.Join(dir, "args"), filepath.Join(dir, "stdin")
	script = filepath.Join(dir, "ssh")
	body := "#!/bin/bash\nprintf '%s\\0' \"$@\" > " + shellwords.Quote(record) + "\ncat > " + shellwords.Quote(stdin) + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, record, stdin
}

func TestConfigSetFileSendsTheFileOnStdin(t *testing.T) {
	script, record, stdin := stdinRecorder(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, ".env"), filepath.Join(dir, "bad.env")
	os.WriteFile(good, []byte("# settings\nexport A=1\nB=\"two\nlines\"\n"), 0o600)
	os.WriteFile(bad, []byte("A=1\nB\n"), 0o600)

	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "PAAS_APP": "shop"}, "")
	var out, errb bytes.Buffer
	env.Stdout, env.Stderr = &out, &errb
	env.StdinIsTerminal = true // the file is read, not the terminal
	env.Exec = func([]string) error { return errors.New("exec used") }
	for _, args := range [][]string{{"config:set", "--file", good}, {"config:set", "--file=" + good, "--no-wait"}} {
		os.Remove(stdin)
		if st := Main(args, env); st != 0 {
			t.Fatalf("Main(%q): status %d, stderr %q", args, st, errb.String())
		}
		want := "config:set shop"
		if slices.Contains(args, "--no-wait") {
			want += " --no-wait"
		}
		if got := recorded(t, record); !slices.Equal(got, []string{"-o", "SetEnv=PAAS_CLIENT=1", "-T", "paas@h", want}) {
			t.Errorf("Main(%q): ssh %q", args, got)
		}
		if got, _ := os.ReadFile(stdin); string(got) != "# settings\nexport A=1\nB=\"two\nlines\"\n" {
			t.Errorf("Main(%q): stdin %q", args, got)
		}
	}

	os.Remove(record)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config:set", "--file", bad}, "paas: " + bad + ": line 2: expected KEY=VALUE\n"},
		{[]string{"config:set", "--file", good, "C=3"}, "paas: --file takes no KEY=VALUE too"},
		{[]string{"config:set", "--file"}, "paas: --file needs a file name"},
		{[]string{"config:set", "--file", filepath.Join(dir, "missing")}, "paas: open " + filepath.Join(dir, "missing")},
		{[]string{"config:set"}, "paas: usage: paas config:set KEY=VALUE... (or --file .env, or < .env)\n"},
	} {
		errb.Reset()
		if st := Main(tc.args, env); st != 1 || !strings.HasPrefix(errb.String(), tc.want) {
			t.Errorf("Main(%q): status %d, stderr %q, want %q", tc.args, st, errb.String(), tc.want)
		}
	}
	if _, err := os.Stat(record); err == nil {
		t.Error("ssh ran for a refused config:set")
	}
}

func TestConfigSetPipedSendsStdin(t *testing.T) {
	script, record, stdin := stdinRecorder(t)
	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "PAAS_APP": "shop"}, "")
	env.Stdin = strings.NewReader("A=1\n")
	var errb bytes.Buffer
	env.Stdout, env.Stderr = &bytes.Buffer{}, &errb
	if st := Main([]string{"config:set"}, env); st != 0 {
		t.Fatalf("status %d, stderr %q", st, errb.String())
	}
	if got := recorded(t, record); !slices.Equal(got, []string{"-o", "SetEnv=PAAS_CLIENT=1", "-T", "paas@h", "config:set shop"}) {
		t.Errorf("ssh %q", got)
	}
	if got, _ := os.ReadFile(stdin); string(got) != "A=1\n" {
		t.Errorf("stdin %q", got)
	}
}

func TestFromArchiveSendsTheFileOnStdin(t *testing.T) {
	script, record, stdin := stdinRecorder(t)
	archive := filepath.Join(t.TempDir(), "app.tar.gz")
	os.WriteFile(archive, []byte("\x1f\x8barchive"), 0o600)
	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "PAAS_APP": "shop"}, "")
	var errb bytes.Buffer
	env.Stdout, env.Stderr = &bytes.Buffer{}, &errb
	env.StdinIsTerminal = true
	env.Exec = func([]string) error { return errors.New("exec used") }
	if st := Main([]string{"git:from-archive", archive}, env); st != 0 {
		t.Fatalf("status %d, stderr %q", st, errb.String())
	}
	if got := recorded(t, record); !slices.Equal(got, []string{"-o", "SetEnv=PAAS_CLIENT=1", "-T", "paas@h", "git:from-archive shop"}) {
		t.Errorf("ssh %q", got)
	}
	if got, _ := os.ReadFile(stdin); string(got) != "\x1f\x8barchive" {
		t.Errorf("stdin %q", got)
	}
	for _, args := range [][]string{{"git:from-archive"}, {"git:from-archive", archive, archive}, {"git:from-archive", filepath.Dir(archive)}} {
		errb.Reset()
		if st := Main(args, env); st != 1 || !strings.HasPrefix(errb.String(), "paas: ") {
			t.Errorf("Main(%q): status %d, stderr %q", args, st, errb.String())
		}
	}
}
