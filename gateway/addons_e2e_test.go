package gateway

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestAddonDataOverSSH runs the add-on data commands through the OpenSSH
// client: connect gets a terminal with -tt and the client's exit status
// without; a binary dump goes in and comes back byte for byte; a dump is
// neither read from nor written to a terminal.
func TestAddonDataOverSSH(t *testing.T) {
	e := startServer(t)
	if _, err := e.f.CreateApp(context.Background(), "web-app", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.f.CreateAddon(context.Background(), "web-app", "postgres", "db", "", "alice", io.Discard); err != nil {
		t.Fatal(err)
	}
	if st, out, _ := e.ssh("", []string{"-tt"}, "addons:connect db"); st != 0 || !strings.Contains(out, "connected to db: tty=true term=") {
		t.Errorf("connect with a terminal: %d %q", st, out)
	}
	if st, out, errs := e.ssh("fail\n", []string{"-T"}, "addons:connect db"); st != 3 || out != "connected to db: tty=false term= cols=0\n" || errs != "ERROR: syntax error\n" {
		t.Errorf("connect without a terminal: %d %q %q", st, out, errs)
	}
	var bin strings.Builder
	bin.WriteString("DUMP postgres\n")
	for i := range 70000 {
		bin.WriteByte(byte(i * 7))
	}
	if st, out, errs := e.ssh(bin.String(), []string{"-T"}, "addons:restore db"); st != 0 || out != "Restored db from the dump on stdin\n" {
		t.Fatalf("restore: %d %q %q", st, out, errs)
	}
	st, out, errs := e.ssh("", []string{"-T"}, "addons:backup db")
	if st != 0 || out != bin.String() || errs != "Sent a new dump of db (68.4 KiB)\n" {
		t.Fatalf("backup: status %d, %d bytes (want %d), stderr %q", st, len(out), bin.Len(), errs)
	}
	// With a terminal, stderr comes through it: the one line is all
	// there is.
	for cmd, want := range map[string]string{
		"addons:backup db":  "paas: addons:backup writes a binary dump: run it without a terminal and send stdout to a file (paas addons:backup NAME > FILE)",
		"addons:restore db": "paas: addons:restore reads a dump on stdin, not from a terminal: paas addons:restore NAME < FILE",
	} {
		st, out, errs := e.ssh("", []string{"-tt"}, cmd)
		if st != 1 || strings.TrimSpace(out+errs) != want {
			t.Errorf("%s with a terminal: %d %.200q %.200q", cmd, st, out, errs)
		}
	}
}
