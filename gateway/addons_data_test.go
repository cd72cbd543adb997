package gateway

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"paas/runtime"
)

// runTTY dispatches args as a session with a terminal would.
func runTTY(s *Server, stdin string, args ...string) result {
	var out, errb bytes.Buffer
	r := &request{ctx: context.Background(), by: "alice", user: user{name: "alice", admin: true}, args: args, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		tty: &ttyInfo{term: "xterm", window: runtime.WindowSize{Cols: 120, Rows: 40}}}
	st := s.dispatch(r)
	return result{st, out.String(), errb.String()}
}

// TestAddonDataCommands walks addons:connect, addons:backup,
// addons:restore, addons:backups, addons:backups:capture and
// addons:rotate: their output, stdout holding nothing but the dump, and
// one line with status 1 for every bad input.
func TestAddonDataCommands(t *testing.T) {
	s, f := newTestServer(t)
	ctx := context.Background()
	if _, _, err := f.CreateAddon(ctx, "web-app", "postgres", "db", "", "alice", io.Discard); err != nil {
		t.Fatal(err)
	}

	// connect: the client's exit status; a terminal when the session has
	// one, with its size.
	if r := runIn(s, `\q`, "addons:connect", "db"); r.status != 0 || r.stdout != "connected to db: tty=false term= cols=0\n" || r.stderr != "" {
		t.Fatalf("connect: %+v", r)
	}
	if r := runIn(s, "fail", "addons:connect", "db"); r.status != 3 || r.stderr != "ERROR: syntax error\n" {
		t.Fatalf("connect with a failing statement: %+v", r)
	}
	if r := runTTY(s, "", "addons:connect", "db"); r.status != 0 || r.stdout != "connected to db: tty=true term=xterm cols=120\n" {
		t.Fatalf("connect with a terminal: %+v", r)
	}

	// backup: the dump alone on stdout, a note on stderr.
	if r := runIn(s, "", "addons:backup", "db"); r.status != 0 || r.stdout != "DUMP postgres\n" || r.stderr != "Sent a new dump of db (14 B)\n" {
		t.Fatalf("backup: %+v", r)
	}
	// restore: the dump on stdin.
	if r := runIn(s, "DUMP postgres\nrow 1\x00\xff\n", "addons:restore", "db"); r.status != 0 || r.stdout != "Restored db from the dump on stdin\n" {
		t.Fatalf("restore: %+v", r)
	}
	if r := runIn(s, "", "addons:backup", "db"); r.stdout != "DUMP postgres\nrow 1\x00\xff\n" {
		t.Fatalf("backup after restore: %q", r.stdout)
	}

	// Stored backups.
	if r := run(s, "addons:backups", "db"); r.status != 0 || r.stdout != "" || r.stderr != "db has no stored backups; store one with addons:backups:capture db\n" {
		t.Fatalf("no backups: %+v", r)
	}
	for _, want := range []string{"Stored backup 20261206T051200Z of db (1.5 KiB)\n", "Stored backup 20261207T051200Z of db (3.0 KiB)\n"} {
		if r := run(s, "addons:backups:capture", "db"); r.status != 0 || r.stdout != want {
			t.Fatalf("capture: %+v, want %q", r, want)
		}
	}
	want := "" +
		"ID                TAKEN                    SIZE\n" +
		"20261207T051200Z  2026-12-07 05:12:00 UTC  3.0 KiB\n" +
		"20261206T051200Z  2026-12-06 05:12:00 UTC  1.5 KiB\n"
	if r := run(s, "addons:backups", "db"); r.status != 0 || r.stdout != want {
		t.Fatalf("addons:backups:\n%s\nwant\n%s", r.stdout, want)
	}
	if r := runIn(s, "", "addons:backup", "db", "--from", "20261206T051200Z"); r.status != 0 || r.stdout != "stored 20261206T051200Z" || r.stderr != "Sent backup 20261206T051200Z of db (23 B)\n" {
		t.Fatalf("backup --from: %+v", r)
	}

	// rotate.
	if r := run(s, "addons:rotate", "db", "--no-wait"); r.status != 0 || r.stdout != "Rotated db\n" {
		t.Fatalf("rotate: %+v", r)
	}
	if cfg, _ := f.Config(ctx, "web-app"); cfg["DATABASE_URL"] != "postgres://app_2:n3wpw@db:5432/app" {
		t.Fatalf("config after rotate: %v", cfg)
	}

	// Bad input: one line on stderr, status 1, nothing on stdout.
	for _, c := range []struct {
		tty    bool
		stdin  string
		args   []string
		stderr string
	}{
		{false, "", []string{"addons:connect"}, "paas: usage: addons:connect NAME\n"},
		{false, "", []string{"addons:connect", "db", "x"}, "paas: usage: addons:connect NAME\n"},
		{false, "", []string{"addons:connect", "nope"}, "paas: add-on nope not found\n"},
		{false, "", []string{"addons:connect", "Bad!"}, "paas: invalid add-on name \"Bad!\": use a lower-case letter followed by up to 29 lower-case letters, digits or dashes\n"},
		{false, "", []string{"addons:backup"}, "paas: usage: addons:backup NAME [--from ID] > FILE\n"},
		{false, "", []string{"addons:backup", "nope"}, "paas: add-on nope not found\n"},
		{false, "", []string{"addons:backup", "db", "--from"}, "paas: flag --from needs a value\n"},
		{false, "", []string{"addons:backup", "db", "--from", "../../paas.db"}, "paas: invalid backup id \"../../paas.db\": use an id addons:backups lists, like 20261206T051200Z\n"},
		{false, "", []string{"addons:backup", "db", "--from", "20261206T051200Z/../x"}, "paas: invalid backup id \"20261206T051200Z/../x\": use an id addons:backups lists, like 20261206T051200Z\n"},
		{false, "", []string{"addons:backup", "db", "--from", "20261101T000000Z"}, "paas: db has no backup 20261101T000000Z; addons:backups db lists them\n"},
		{false, "", []string{"addons:backup", "db", "--bogus"}, "paas: unknown flag --bogus\n"},
		{true, "", []string{"addons:backup", "db"}, "paas: addons:backup writes a binary dump: run it without a terminal and send stdout to a file (paas addons:backup NAME > FILE)\n"},
		{false, "", []string{"addons:restore"}, "paas: usage: addons:restore NAME < FILE\n"},
		{false, "DUMP redis\n", []string{"addons:restore", "db"}, "paas: not a postgres dump: make one with addons:backup or pg_dump -Fc\n"},
		{false, "garbage", []string{"addons:restore", "db"}, "paas: not a postgres dump: make one with addons:backup or pg_dump -Fc\n"},
		{true, "DUMP postgres\nnew\n", []string{"addons:restore", "db"}, "paas: addons:restore reads a dump on stdin, not from a terminal: paas addons:restore NAME < FILE\n"},
		{false, "DUMP postgres\n", []string{"addons:restore", "nope"}, "paas: add-on nope not found\n"},
		{false, "", []string{"addons:backups"}, "paas: usage: addons:backups NAME\n"},
		{false, "", []string{"addons:backups", "nope"}, "paas: add-on nope not found\n"},
		{false, "", []string{"addons:backups:capture", "db", "db"}, "paas: usage: addons:backups:capture NAME\n"},
		{false, "", []string{"addons:backups:capture", "nope"}, "paas: add-on nope not found\n"},
		{false, "", []string{"addons:rotate"}, "paas: usage: addons:rotate NAME\n"},
		{false, "", []string{"addons:rotate", "--confirm"}, "paas: usage: addons:rotate NAME\n"},
		{false, "", []string{"addons:rotate", "nope"}, "paas: add-on nope not found\n"},
	} {
		var r result
		if c.tty {
			r = runTTY(s, c.stdin, c.args...)
		} else {
			r = runIn(s, c.stdin, c.args...)
		}
		if r.status != 1 || r.stdout != "" || r.stderr != c.stderr {
			t.Errorf("%q: %+v, want stderr %q", c.args, r, c.stderr)
		}
	}
	// The refused restores left the data.
	if r := runIn(s, "", "addons:backup", "db"); r.stdout != "DUMP postgres\nrow 1\x00\xff\n" {
		t.Fatalf("data after refused restores: %q", r.stdout)
	}

	// addons:info: the backups, newest first, and the last log lines,
	// made safe for a terminal.
	func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		a, _ := f.addon("db")
		a.Logs = []string{"LOG: database system is ready", "FATAL: password authentication failed for user \"app\" \x1b[2J"}
		a.Rotation = "unfinished (both credentials work): run addons:rotate db to finish it"
	}()
	want = "" +
		"name:      db\n" +
		"engine:    postgres 15.10\n" +
		"state:     up\n" +
		"url:       postgres://app:***@db:5432/app\n" +
		"attached:  web-app as DATABASE_URL\n" +
		"disk:      40.0 MiB\n" +
		"created:   2026-11-26 10:01:00 UTC by alice\n" +
		"rotation:  unfinished (both credentials work): run addons:rotate db to finish it\n" +
		"backups:\n" +
		"  20261207T051200Z  2026-12-07 05:12:00 UTC  3.0 KiB\n" +
		"  20261206T051200Z  2026-12-06 05:12:00 UTC  1.5 KiB\n" +
		"log:\n" +
		"  LOG: database system is ready\n" +
		"  FATAL: password authentication failed for user \"app\" \\x1b[2J\n"
	if r := run(s, "addons:info", "db"); r.status != 0 || r.stdout != want {
		t.Fatalf("addons:info:\n%s\nwant\n%s", r.stdout, want)
	}

	// help lists the commands.
	r := run(s, "help")
	for _, want := range []string{"addons:connect NAME", "addons:backup NAME [--from ID] > FILE", "addons:restore NAME < FILE", "addons:backups NAME", "addons:backups:capture NAME", "addons:rotate NAME"} {
		if !strings.Contains(r.stdout, "  "+want+" ") {
			t.Fatalf("help lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestAddonDataCommandsWithoutAddons: on a server without add-ons each
// new command answers one line.
func TestAddonDataCommandsWithoutAddons(t *testing.T) {
	s, f := newTestServer(t)
	f.noAddons()
	for _, args := range [][]string{
		{"addons:connect", "db"}, {"addons:backup", "db"}, {"addons:restore", "db"}, {"addons:backups", "db"},
		{"addons:backups:capture", "db"}, {"addons:rotate", "db"},
	} {
		r := run(s, args...)
		if r.status != 1 || r.stdout != "" || r.stderr != "paas: this server runs no backing services\n" {
			t.Fatalf("%q: %+v", args, r)
		}
	}
}
