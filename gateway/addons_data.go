package gateway

import (
	"fmt"
	"io"
	"strings"

	"paas"
)

// The commands about an add-on's data: a client session, dumps in and
// out, stored backups and credential rotation. Each takes the add-on's
// NAME first.

// addonName reads the one operand of a command that takes NAME alone.
func addonName(c *command, rest []string) (string, error) {
	if len(rest) != 1 || strings.HasPrefix(rest[0], "-") {
		return "", usageError(c)
	}
	if err := validateAddonName(rest[0]); err != nil {
		return "", err
	}
	return rest[0], nil
}

// connectAddon serves addons:connect: the engine's client on the session,
// with its terminal when it has one; the exit status is the client's.
func connectAddon(s *Server, r *request, c *command, _ string, args []string) int {
	name, err := addonName(c, args)
	if err != nil {
		return s.failFor(r, err)
	}
	status, err := s.cfg.Platform.ConnectAddon(r.ctx, name, r.by, r.stdio())
	return s.exitStatus(r, status, err)
}

// errDumpOnTerminal refuses to send a dump through a terminal, which would
// change its bytes.
var errDumpOnTerminal = paas.Errorf("addons:backup writes a binary dump: run it without a terminal and send stdout to a file (paas addons:backup NAME > FILE)")

// errDumpFromTerminal refuses to read a dump from a terminal.
var errDumpFromTerminal = paas.Errorf("addons:restore reads a dump on stdin, not from a terminal: paas addons:restore NAME < FILE")

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// cmdAddonsBackup writes a dump on stdout and nothing else; what it says
// goes to stderr.
func cmdAddonsBackup(s *Server, r *request, _ string, args []string) error {
	c := lookupCommand("addons:backup")
	fl, rest, err := parseFlags(args, map[string]bool{"--from": true})
	if err != nil {
		return err
	}
	name, err := addonName(c, rest)
	if err != nil {
		return err
	}
	from, given := fl["--from"]
	if given {
		if _, _, err := paas.ParseBackupID(from); err != nil {
			return err
		}
	}
	if r.tty != nil {
		return errDumpOnTerminal
	}
	w := &countingWriter{w: r.stdout}
	if err := s.cfg.Platform.BackupAddon(r.ctx, name, from, w); err != nil {
		return err
	}
	what := "a new dump"
	if given {
		what = "backup " + from
	}
	fmt.Fprintf(r.stderr, "Sent %s of %s (%s)\n", what, name, formatBytes(w.n))
	return nil
}

func cmdAddonsRestore(s *Server, r *request, _ string, args []string) error {
	name, err := addonName(lookupCommand("addons:restore"), args)
	if err != nil {
		return err
	}
	if r.tty != nil {
		return errDumpFromTerminal
	}
	if err := s.cfg.Platform.RestoreAddon(r.ctx, name, r.by, r.stdin); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Restored %s from the dump on stdin\n", name)
	return nil
}

func cmdAddonsBackups(s *Server, r *request, _ string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	name, err := addonName(lookupCommand("addons:backups"), rest)
	if err != nil {
		return err
	}
	list, err := s.cfg.Platform.AddonBackups(r.ctx, name)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return emptyListing(r, asJSON, fmt.Sprintf("%s has no stored backups; store one with addons:backups:capture %s", name, name))
	}
	if asJSON {
		return writeJSON(r, toBackupsJSON(list))
	}
	t := newTable("ID", "TAKEN", "SIZE")
	for i := len(list) - 1; i >= 0; i-- {
		b := list[i]
		t.row(b.ID, formatTime(b.Time), formatBytes(b.Size))
	}
	return t.write(r.stdout)
}

// writeBackups writes one line per backup, newest first, each after
// indent.
func writeBackups(w io.Writer, list []paas.AddonBackup, indent string) {
	for i := len(list) - 1; i >= 0; i-- {
		b := list[i]
		fmt.Fprintf(w, "%s%s\t%s\t%s\n", indent, b.ID, formatTime(b.Time), formatBytes(b.Size))
	}
}

func cmdAddonsBackupsCapture(s *Server, r *request, _ string, args []string) error {
	name, err := addonName(lookupCommand("addons:backups:capture"), args)
	if err != nil {
		return err
	}
	b, err := s.cfg.Platform.CaptureAddonBackup(r.ctx, name, r.by)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Stored backup %s of %s (%s)\n", b.ID, name, formatBytes(b.Size))
	return nil
}

func cmdAddonsRotate(s *Server, r *request, _ string, args []string) error {
	name, err := addonName(lookupCommand("addons:rotate"), args)
	if err != nil {
		return err
	}
	return s.cfg.Platform.RotateAddon(r.ctx, name, r.by, r.stdout)
}
