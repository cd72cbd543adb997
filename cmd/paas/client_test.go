package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"paas/shellwords"
)

func TestParseRemote(t *testing.T) {
	tests := []struct {
		in   string
		want target
	}{
		{"ssh://paas@example.com:2222/my-app.git", target{"paas", "example.com", "2222", "my-app"}},
		{"ssh://example.com/my-app", target{"paas", "example.com", "", "my-app"}},
		{"ssh://git@[::1]:22/app", target{"git", "::1", "22", "app"}},
		{"git+ssh://u@h/app.git", target{"u", "h", "", "app"}},
		{"paas@example.com:my-app.git", target{"paas", "example.com", "", "my-app"}},
		{"example.com:my-app", target{"paas", "example.com", "", "my-app"}},
		{"u@[fe80::1]:app", target{"u", "fe80::1", "", "app"}},
		{"u@host:/app.git", target{"u", "host", "", "app"}},
	}
	for _, tt := range tests {
		got, err := parseRemote(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseRemote(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "/local/path", "./rel:x", "https://example.com/app.git", "ssh://example.com/", "-oProxyCommand=x:app", "ssh://-oProxyCommand=x/app", "ssh://h:p0rt/app", "host:"} {
		if got, err := parseRemote(bad); err == nil {
			t.Errorf("parseRemote(%q) = %+v, want error", bad, got)
		}
	}
}

func TestParseHost(t *testing.T) {
	tests := []struct {
		in   string
		want target
	}{
		{"example.com", target{"paas", "example.com", "", ""}},
		{"alice@example.com:2222", target{"alice", "example.com", "2222", ""}},
		{"[::1]:2222", target{"paas", "::1", "2222", ""}},
		{"[::1]", target{"paas", "::1", "", ""}},
		{"::1", target{"paas", "::1", "", ""}},
	}
	for _, tt := range tests {
		got, err := parseHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseHost(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "u@", "-oX", "h:x"} {
		if _, err := parseHost(bad); err == nil {
			t.Errorf("parseHost(%q) accepted", bad)
		}
	}
}

// TestParseLine is the client's grammar: its flags anywhere, Heroku's
// way, except inside run's command line.
func TestParseLine(t *testing.T) {
	tests := []struct {
		in           []string
		app, remote  string
		name         string
		args         []string
		help, versio bool
	}{
		{in: []string{"-a", "x", "ps"}, app: "x", name: "ps"},
		{in: []string{"ps", "-a", "x"}, app: "x", name: "ps"},
		{in: []string{"ps", "--app", "x"}, app: "x", name: "ps"},
		{in: []string{"ps", "-a=x"}, app: "x", name: "ps"},
		{in: []string{"--app=y", "logs", "-t", "-a", "z"}, app: "z", name: "logs", args: []string{"-t"}},
		{in: []string{"config:set", "K=1", "-a", "x", "L=2"}, app: "x", name: "config:set", args: []string{"K=1", "L=2"}},
		{in: []string{"-r", "staging", "ps"}, remote: "staging", name: "ps"},
		{in: []string{"ps", "--remote=staging"}, remote: "staging", name: "ps"},
		// A flag's value is the command's, even when it looks like -a.
		{in: []string{"addons:attach", "db", "--as", "-a"}, name: "addons:attach", args: []string{"db", "--as", "-a"}},
		{in: []string{"logs", "-n", "5", "-a", "x"}, app: "x", name: "logs", args: []string{"-n", "5"}},
		// run: the client's flags until the command line starts.
		{in: []string{"run", "-a", "x", "ls", "-a"}, app: "x", name: "run", args: []string{"ls", "-a"}},
		{in: []string{"-a", "x", "run", "ls", "-a", "y"}, app: "x", name: "run", args: []string{"ls", "-a", "y"}},
		{in: []string{"run", "-a", "x", "--", "ls", "-a"}, app: "x", name: "run", args: []string{"--", "ls", "-a"}},
		{in: []string{"run", "--", "-a", "x"}, name: "run", args: []string{"--", "-a", "x"}},
		{in: []string{"run", "bash", "--help"}, name: "run", args: []string{"bash", "--help"}},
		{in: []string{"run", "--help"}, name: "run", help: true},
		{in: []string{"run", "--detach", "-a", "x", "worker"}, app: "x", name: "run", args: []string{"--detach", "worker"}},
		// "--" ends the client's flags for every command.
		{in: []string{"config:set", "--", "-a=1"}, name: "config:set", args: []string{"--", "-a=1"}},
		{in: []string{"--", "ps", "-a", "x"}, name: "ps", args: []string{"-a", "x"}},
		{in: []string{"-h"}, help: true},
		{in: []string{"config:set", "-h"}, name: "config:set", help: true},
		{in: []string{"--version"}, versio: true},
		{in: nil},
	}
	for _, tt := range tests {
		l, err := parseLine(tt.in)
		if err != nil || l.app != tt.app || l.remote != tt.remote || l.name != tt.name || !slices.Equal(l.args, tt.args) || l.help != tt.help || l.version != tt.versio {
			t.Errorf("parseLine(%q) = %+v, %v", tt.in, l, err)
		}
	}
	for _, bad := range [][]string{{"-x", "ps"}, {"ps", "-a"}, {"-a"}, {"ps", "-r"}, {"ps", "-a", "-t"}, {"ps", "-a="}} {
		if l, err := parseLine(bad); err == nil {
			t.Errorf("parseLine(%q) = %+v, want an error", bad, l)
		}
	}
}

func envOf(vars map[string]string, remote string) Env {
	return Env{
		Getenv:    func(k string) string { return vars[k] },
		Stdin:     strings.NewReader(""),
		GitRemote: func(string) string { return remote },
	}
}

func TestSSHArgv(t *testing.T) {
	tgt := target{User: "paas", Host: "h", Port: "2222", App: "a"}
	env := envOf(map[string]string{"GIT_SSH_COMMAND": "ssh -i 'my key' -o X=Y"}, "")
	got, err := sshArgv(env, tgt, []string{"run", "a", "--", "python3", "-c", "print(1)"}, false)
	want := []string{"ssh", "-i", "my key", "-o", "X=Y", "-o", "SetEnv=PAAS_CLIENT=1", "-p", "2222", "-T", "paas@h", "run a -- python3 -c 'print(1)'"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("sshArgv = %q, %v; want %q", got, err, want)
	}
	env = envOf(map[string]string{"PAAS_SSH_COMMAND": "myssh", "GIT_SSH_COMMAND": "ignored"}, "")
	got, _ = sshArgv(env, target{User: "u", Host: "h"}, []string{"apps"}, true)
	// With a terminal, ssh says nothing of its own when the command ends.
	if want := []string{"myssh", "-o", "SetEnv=PAAS_CLIENT=1", "-o", "LogLevel=ERROR", "-t", "u@h", "apps"}; !slices.Equal(got, want) {
		t.Errorf("sshArgv = %q, want %q", got, want)
	}
}

// fakeSSH writes a script that records its arguments, one per line of a
// NUL-separated file, and exits with $FAKE_SSH_STATUS.
func fakeSSH(t *testing.T) (cmd, record string) {
	dir := t.TempDir()
	record = filepath.Join(dir, "args")
	script := filepath.Join(dir, "ssh")
	body := "#!/bin/bash\nprintf '%s\\0' \"$@\" > " + shellwords.Quote(record) + "\necho remote-output\nexit \"${FAKE_SSH_STATUS:-0}\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, record
}

func recorded(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func TestMain_(t *testing.T) {
	script, record := fakeSSH(t)
	t.Setenv("FAKE_SSH_STATUS", "3")
	tests := []struct {
		args   []string
		vars   map[string]string
		remote string
		want   []string // argv after the ssh command
	}{
		{[]string{"run", "--", "python3", "-c", "print(1)"}, nil, "ssh://paas@srv:2222/my-app.git",
			[]string{"-p", "2222", "-T", "paas@srv", "run my-app -- python3 -c 'print(1)'"}},
		{[]string{"-a", "other", "config:set", "K=a b"}, map[string]string{"PAAS_APP": "envapp"}, "srv:my-app",
			[]string{"-T", "paas@srv", "config:set other 'K=a b'"}},
		{[]string{"config"}, map[string]string{"PAAS_APP": "envapp", "PAAS_HOST": "bob@h:22"}, "",
			[]string{"-p", "22", "-T", "bob@h", "config envapp"}},
		{[]string{"apps:create", "new-app"}, map[string]string{"PAAS_HOST": "h"}, "",
			[]string{"-T", "paas@h", "apps:create new-app"}},
		{[]string{"version"}, map[string]string{"PAAS_HOST": "h"}, "", []string{"-T", "paas@h", "version"}},
		{[]string{"logs", "-t"}, map[string]string{"PAAS_HOST": "h", "PAAS_APP": "a"}, "", []string{"-T", "paas@h", "logs a -t"}},
		// Add-on commands: addons:create takes the app first; those about
		// one add-on name it first, addons:attach and addons:detach
		// adding the app when only the add-on is named.
		{[]string{"addons:create", "postgres", "--as", "MAIN"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:create my-app postgres --as MAIN"}},
		{[]string{"addons:info", "db"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:info db"}},
		{[]string{"addons:destroy", "db", "--confirm", "db"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:destroy db --confirm db"}},
		{[]string{"addons:attach", "db", "--as", "X"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:attach db --as X my-app"}},
		{[]string{"addons:attach", "db", "other"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:attach db other"}},
		{[]string{"addons:detach", "db"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:detach db my-app"}},
		{[]string{"addons"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons my-app"}},
		{[]string{"addons", "--all"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons"}},
		{[]string{"addons"}, map[string]string{"PAAS_HOST": "h"}, "", []string{"-T", "paas@h", "addons"}},
		{[]string{"addons", "other"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons other"}},
		// The add-on data commands name the add-on; none takes the app.
		{[]string{"addons:connect", "db"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:connect db"}},
		{[]string{"addons:backup", "db", "--from", "20261206T051200Z"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:backup db --from 20261206T051200Z"}},
		{[]string{"addons:restore", "db"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:restore db"}},
		{[]string{"addons:backups", "db"}, map[string]string{"PAAS_HOST": "h"}, "", []string{"-T", "paas@h", "addons:backups db"}},
		{[]string{"addons:backups:capture", "db"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:backups:capture db"}},
		{[]string{"addons:rotate", "db"}, nil, "srv:my-app", []string{"-T", "paas@srv", "addons:rotate db"}},
		// Users and access: keys and whoami take no app; access and
		// apps:transfer take it first.
		{[]string{"keys"}, map[string]string{"PAAS_HOST": "h"}, "", []string{"-T", "paas@h", "keys"}},
		{[]string{"whoami"}, nil, "srv:my-app", []string{"-T", "paas@srv", "whoami"}},
		{[]string{"keys:add", "bob", "--admin"}, nil, "srv:my-app", []string{"-T", "paas@srv", "keys:add bob --admin"}},
		{[]string{"keys:remove", "bob", "SHA256:abc"}, nil, "srv:my-app", []string{"-T", "paas@srv", "keys:remove bob SHA256:abc"}},
		{[]string{"access"}, nil, "srv:my-app", []string{"-T", "paas@srv", "access my-app"}},
		{[]string{"access:add", "bob"}, nil, "srv:my-app", []string{"-T", "paas@srv", "access:add my-app bob"}},
		{[]string{"access:remove", "bob"}, nil, "srv:my-app", []string{"-T", "paas@srv", "access:remove my-app bob"}},
		{[]string{"-a", "other", "apps:transfer", "bob"}, nil, "srv:my-app", []string{"-T", "paas@srv", "apps:transfer other bob"}},
		// The audit log is the server's: no app.
		{[]string{"audit", "-n", "20", "--json"}, nil, "srv:my-app", []string{"-T", "paas@srv", "audit -n 20 --json"}},
		{[]string{"audit"}, map[string]string{"PAAS_HOST": "h"}, "", []string{"-T", "paas@h", "audit"}},
		// The swarm's nodes are the server's: no app.
		{[]string{"nodes", "--json"}, nil, "srv:my-app", []string{"-T", "paas@srv", "nodes --json"}},
		{[]string{"-a", "other", "nodes:add", "ssh://root@node2:2222", "--name", "n2"}, nil, "srv:my-app", []string{"-T", "paas@srv", "nodes:add ssh://root@node2:2222 --name n2"}},
		{[]string{"nodes:drain", "n2"}, map[string]string{"PAAS_HOST": "h"}, "", []string{"-T", "paas@h", "nodes:drain n2"}},
		{[]string{"nodes:activate", "n2"}, nil, "srv:my-app", []string{"-T", "paas@srv", "nodes:activate n2"}},
		{[]string{"nodes:remove", "n2"}, nil, "srv:my-app", []string{"-T", "paas@srv", "nodes:remove n2"}},
		// On a terminal, logs asks for colour (the last case runs with a
		// terminal on stdout).
		{[]string{"logs", "-t"}, map[string]string{"PAAS_HOST": "h", "PAAS_APP": "a"}, "", []string{"-T", "paas@h", "logs a -t --color"}},
	}
	for i, tt := range tests {
		vars := map[string]string{"PAAS_SSH_COMMAND": script}
		for k, v := range tt.vars {
			vars[k] = v
		}
		env := envOf(vars, tt.remote)
		env.StdoutIsTerminal = i == len(tests)-1
		var out, errb bytes.Buffer
		env.Stdout, env.Stderr = &out, &errb
		st := Main(tt.args, env)
		if st != 3 || out.String() != "remote-output\n" || errb.Len() != 0 {
			t.Errorf("Main(%q): status %d, stdout %q, stderr %q", tt.args, st, out.String(), errb.String())
		}
		if got, want := recorded(t, record), append([]string{"-o", "SetEnv=PAAS_CLIENT=1"}, tt.want...); !slices.Equal(got, want) {
			t.Errorf("Main(%q) ran ssh %q, want %q", tt.args, got, want)
		}
	}
}

func TestMainErrors(t *testing.T) {
	tests := []struct {
		args   []string
		vars   map[string]string
		remote string
		want   string
	}{
		{[]string{"ps"}, nil, "", "paas: no server"},
		{[]string{"ps"}, map[string]string{"PAAS_HOST": "h"}, "", "paas: no app"},
		{[]string{"ps"}, nil, "/local/path", "paas: remote \"/local/path\" is not an SSH remote"},
		{[]string{"--bogus", "ps"}, nil, "", "paas: unknown flag --bogus"},
		{[]string{"addons:detach", "db"}, map[string]string{"PAAS_HOST": "h"}, "", "paas: no app"},
		{[]string{"addons:restore", "db"}, map[string]string{"PAAS_HOST": "h", "TERMINAL": "stdin"}, "", "paas: addons:restore reads a dump on stdin, not from a terminal: paas addons:restore NAME < FILE"},
		{[]string{"addons:backup", "db"}, map[string]string{"PAAS_HOST": "h", "TERMINAL": "stdout"}, "", "paas: addons:backup writes a binary dump to stdout: send it to a file (paas addons:backup NAME > FILE)"},
		{[]string{"ps"}, map[string]string{"PAAS_HOST": "h", "PAAS_APP": "a", "PAAS_SSH_COMMAND": "'unterminated"}, "", "paas: parsing the ssh command"},
		{[]string{"keys:add", "bob"}, map[string]string{"PAAS_HOST": "h", "TERMINAL": "stdin"}, "", "paas: keys:add reads the public key from KEY_FILE or stdin"},
		{[]string{"keys:add", "bob", "/no/such/key.pub"}, map[string]string{"PAAS_HOST": "h"}, "", "paas: open /no/such/key.pub"},
	}
	// None of them runs ssh.
	script, record := fakeSSH(t)
	for _, tt := range tests {
		vars := map[string]string{"PAAS_SSH_COMMAND": script}
		for k, v := range tt.vars {
			vars[k] = v
		}
		env := envOf(vars, tt.remote)
		env.StdinIsTerminal, env.StdoutIsTerminal = vars["TERMINAL"] == "stdin", vars["TERMINAL"] == "stdout"
		var out, errb bytes.Buffer
		env.Stdout, env.Stderr = &out, &errb
		if st := Main(tt.args, env); st != 1 || !strings.HasPrefix(errb.String(), tt.want) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("Main(%q): status %d, stderr %q, want %q", tt.args, st, errb.String(), tt.want)
		}
	}
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Errorf("a refused command ran ssh %q", recorded(t, record))
	}
}

// TestAttachedCommandsGetATerminal: run and addons:connect ask ssh for a
// terminal when stdin is one, and for none otherwise; the other commands
// never do.
func TestAttachedCommandsGetATerminal(t *testing.T) {
	script, record := fakeSSH(t)
	for _, c := range []struct {
		args     []string
		terminal bool
		want     string
	}{
		{[]string{"run", "bash"}, true, "-t"},
		{[]string{"run", "bash"}, false, "-T"},
		{[]string{"run", "-d", "bash"}, true, "-T"},
		{[]string{"run", "--detach", "--", "bash", "-d"}, true, "-T"},
		{[]string{"run", "bash", "-d"}, true, "-t"},
		{[]string{"addons:connect", "db"}, true, "-t"},
		{[]string{"addons:connect", "db"}, false, "-T"},
		{[]string{"addons:rotate", "db"}, true, "-T"},
		{[]string{"addons:backup", "db"}, true, "-T"},
	} {
		env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "PAAS_APP": "a"}, "")
		env.StdinIsTerminal = c.terminal
		var out, errb bytes.Buffer
		env.Stdout, env.Stderr = &out, &errb
		Main(c.args, env)
		if got := recorded(t, record); len(got) < 3 || got[len(got)-3] != c.want {
			t.Errorf("%q with a terminal %v ran ssh %q, want %s", c.args, c.terminal, got, c.want)
		}
	}
}

// TestHelp: help comes from the catalog, never from the server: the
// list by topic in 80 columns, a command's usage, flags and example.
func TestHelp(t *testing.T) {
	script, record := fakeSSH(t)
	for _, tc := range []struct {
		args []string
		want []string // in stdout, in order
	}{
		{nil, []string{"usage: paas COMMAND", "apps:\n  apps  ", "config:\n", "  config:set  ", "keys:\n"}},
		{[]string{"help"}, []string{"usage: paas COMMAND", "apps:\n"}},
		{[]string{"-h"}, []string{"usage: paas COMMAND", "apps:\n"}},
		{[]string{"help", "config:set"}, []string{"usage: paas config:set KEY=VALUE... | --file .env [-a APP]\n", "--no-wait", "-a, --app APP", "example:\n  paas config:set --file .env -a myapp\n"}},
		{[]string{"config:set", "--help"}, []string{"usage: paas config:set KEY=VALUE... | --file .env [-a APP]\n"}},
		{[]string{"-a", "x", "logs", "-h"}, []string{"usage: paas logs [-n N]", "--ps, -d, --dyno TYPE|TYPE.N"}},
		{[]string{"run", "--help"}, []string{"usage: paas run [-a APP] [-d|--detach] [--] CMD [ARGS...]\n", "go before CMD"}},
		{[]string{"help", "open"}, []string{"usage: paas open [-a APP]\n"}},
		{[]string{"--version"}, []string{"paas client "}},
	} {
		env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h"}, "")
		var out, errb bytes.Buffer
		env.Stdout, env.Stderr = &out, &errb
		if st := Main(tc.args, env); st != 0 || errb.Len() != 0 {
			t.Errorf("%q: status %d, stderr %q", tc.args, st, errb.String())
		}
		rest := out.String()
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%q: stdout lacks %q (in order):\n%s", tc.args, w, out.String())
				break
			}
			rest = rest[i+len(w):]
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if len(l) > 80 {
				t.Errorf("%q: a line of %d columns: %q", tc.args, len(l), l)
			}
		}
	}
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Errorf("help ran ssh %q", recorded(t, record))
	}
}

// TestUnknownCommand: a typo gets the nearest commands, one line on
// stderr, exit 1, and the server is not asked.
func TestUnknownCommand(t *testing.T) {
	script, record := fakeSSH(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config:st", "K=V"}, `paas: unknown command "config:st". Did you mean config:set?` + "\n"},
		{[]string{"log"}, `paas: unknown command "log". Did you mean logs?` + "\n"},
		{[]string{"-a", "x", "scale", "web=2"}, `paas: unknown command "scale". Did you mean ps:scale?` + "\n"},
		{[]string{"frobnicate"}, `paas: unknown command "frobnicate". See paas help.` + "\n"},
		{[]string{"help", "log"}, `paas: unknown command "log". Did you mean logs?` + "\n"},
	} {
		env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "PAAS_APP": "a"}, "")
		var out, errb bytes.Buffer
		env.Stdout, env.Stderr = &out, &errb
		if st := Main(tc.args, env); st != 1 || errb.String() != tc.want || out.Len() != 0 {
			t.Errorf("%q: status %d, stdout %q, stderr %q, want %q", tc.args, st, out.String(), errb.String(), tc.want)
		}
	}
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Errorf("an unknown command ran ssh %q", recorded(t, record))
	}
}

func FuzzParseRemote(f *testing.F) {
	for _, s := range []string{"ssh://paas@example.com:2222/my-app.git", "u@[::1]:app", "host:app", "/path"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tgt, err := parseRemote(s)
		if err != nil {
			return
		}
		if tgt.check() != nil || tgt.App == "" || strings.HasPrefix(tgt.dest(), "-") {
			t.Fatalf("parseRemote(%q) = %+v", s, tgt)
		}
	})
}

func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"h", "u@h:22", "[::1]:2222"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tgt, err := parseHost(s)
		if err != nil {
			return
		}
		if tgt.check() != nil || strings.HasPrefix(tgt.dest(), "-") {
			t.Fatalf("parseHost(%q) = %+v", s, tgt)
		}
	})
}

// TestDumpPassesUnchanged: a binary dump on stdin reaches ssh, and the
// one ssh writes reaches stdout, byte for byte.
func TestDumpPassesUnchanged(t *testing.T) {
	dir := t.TempDir()
	dump := make([]byte, 100000)
	for i := range dump {
		dump[i] = byte(i*31 + i>>8)
	}
	file := filepath.Join(dir, "dump")
	if err := os.WriteFile(file, dump, 0o600); err != nil {
		t.Fatal(err)
	}
	got := filepath.Join(dir, "got")
	script := filepath.Join(dir, "ssh")
	body := "#!/bin/bash\ncat > " + shellwords.Quote(got) + "\ncat -- " + shellwords.Quote(file) + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h"}, "")
	env.Stdin = bytes.NewReader(dump)
	var out, errb bytes.Buffer
	env.Stdout, env.Stderr = &out, &errb
	if st := Main([]string{"addons:restore", "db"}, env); st != 0 {
		t.Fatalf("restore: %d %q", st, errb.String())
	}
	if sent, _ := os.ReadFile(got); !bytes.Equal(sent, dump) {
		t.Fatalf("restore sent %d bytes, not the dump", len(sent))
	}
	out.Reset()
	env.Stdin = strings.NewReader("")
	if st := Main([]string{"addons:backup", "db"}, env); st != 0 || !bytes.Equal(out.Bytes(), dump) {
		t.Fatalf("backup: %d, %d bytes on stdout, stderr %q", st, out.Len(), errb.String())
	}
}

// TestWhichApp: -a anywhere, then -r's remote, then PAAS_APP, then the
// paas remote; the server is the remote's, else PAAS_HOST.
func TestWhichApp(t *testing.T) {
	script, record := fakeSSH(t)
	remotes := map[string]string{"paas": "ssh://paas@prod:2222/shop.git", "staging": "ssh://paas@stage/shop-staging.git"}
	for _, tc := range []struct {
		args    []string
		paasApp string
		remotes bool
		want    []string
	}{
		{[]string{"ps"}, "", true, []string{"-p", "2222", "-T", "paas@prod", "ps shop"}},
		{[]string{"ps"}, "env-app", true, []string{"-p", "2222", "-T", "paas@prod", "ps env-app"}},
		{[]string{"ps", "-a", "other"}, "env-app", true, []string{"-p", "2222", "-T", "paas@prod", "ps other"}},
		{[]string{"config:set", "K=1", "--app=other"}, "", true, []string{"-p", "2222", "-T", "paas@prod", "config:set other 'K=1'"}},
		{[]string{"ps", "-r", "staging"}, "env-app", true, []string{"-T", "paas@stage", "ps shop-staging"}},
		{[]string{"-r", "staging", "ps", "-a", "x"}, "", true, []string{"-T", "paas@stage", "ps x"}},
		{[]string{"ps"}, "env-app", false, []string{"-T", "paas@h", "ps env-app"}},
		// run takes -a before its command line, never inside it.
		{[]string{"run", "-a", "other", "ls", "-a"}, "", true, []string{"-p", "2222", "-T", "paas@prod", "run other ls -a"}},
		{[]string{"run", "ls", "-a", "other"}, "", true, []string{"-p", "2222", "-T", "paas@prod", "run shop ls -a other"}},
		{[]string{"run", "-a", "other", "--", "ls", "--help"}, "", true, []string{"-p", "2222", "-T", "paas@prod", "run other -- ls --help"}},
		{[]string{"logs", "-n", "5", "-a", "other", "-t"}, "", true, []string{"-p", "2222", "-T", "paas@prod", "logs other -n 5 -t"}},
		{[]string{"addons:attach", "db", "-a", "other"}, "", true, []string{"-p", "2222", "-T", "paas@prod", "addons:attach db other"}},
	} {
		env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "PAAS_APP": tc.paasApp}, "")
		env.GitRemote = func(name string) string {
			if tc.remotes {
				return remotes[name]
			}
			return ""
		}
		var out, errb bytes.Buffer
		env.Stdout, env.Stderr = &out, &errb
		if st := Main(tc.args, env); st != 0 {
			t.Errorf("%q: status %d, stderr %q", tc.args, st, errb.String())
			continue
		}
		if got, want := recorded(t, record), append([]string{"-o", "SetEnv=PAAS_CLIENT=1"}, tc.want...); !slices.Equal(got, want) {
			t.Errorf("%q (PAAS_APP=%q) ran ssh %q, want %q", tc.args, tc.paasApp, got, want)
		}
	}
	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h"}, "")
	env.GitRemote = func(string) string { return "" }
	var errb bytes.Buffer
	env.Stdout, env.Stderr = &bytes.Buffer{}, &errb
	if st := Main([]string{"ps", "-r", "nope"}, env); st != 1 || errb.String() != "paas: no git remote \"nope\" here\n" {
		t.Errorf("a missing remote: status %d, stderr %q", st, errb.String())
	}
}
