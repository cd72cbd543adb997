package gateway

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"paas"
	"paas/drains"
	"paas/shellwords"
)

// The server-wide audit log: every SSH session of an authenticated key
// (a command, a push, a fetch) is recorded as it ends, before the client
// gets its exit status, so an entry is in the log by the time the command
// has returned. What a command line carries of secrets is masked before
// it is recorded: config values, credentials in URLs, the arguments of
// an unknown command; nothing of stdin is recorded.

// AuditLog keeps the server-wide audit log.
type AuditLog interface {
	// Record appends e (its Seq is assigned by the log).
	Record(e paas.AuditEntry) error
	// Entries returns the newest n entries, oldest first.
	Entries(n int) ([]paas.AuditEntry, error)
}

const (
	// defaultAuditEntries is how many entries `audit` shows without -n.
	defaultAuditEntries = 100
	// maxAuditWord and maxAuditLine bound what an entry keeps of one
	// argument and of the whole command line.
	maxAuditWord = 256
	maxAuditLine = 1024
	// auditMask replaces a secret in a recorded command line.
	auditMask = "***"
)

// recordSession records one session of identity id from remote that
// started at start and ends with status. args is the parsed command line
// (nil for an interactive shell); unparsable is set when the line could
// not be parsed, and then nothing of it is recorded.
func (s *Server) recordSession(id identity, remote string, start time.Time, args []string, unparsable bool, status int) {
	if s.cfg.Audit == nil {
		return
	}
	line, app := auditCommand(args)
	if unparsable {
		line, app = "(unparsable command line)", ""
	}
	e := paas.AuditEntry{
		Time:        start.UTC(),
		User:        id.user.name,
		Fingerprint: id.fingerprint,
		Remote:      remote,
		Command:     line,
		App:         app,
		Status:      status,
		DurationMS:  s.now().Sub(start).Milliseconds(),
	}
	if err := s.cfg.Audit.Record(e); err != nil {
		// The command has run: its entry is lost, which the operator
		// must hear about.
		s.log.Error("audit entry not recorded", "by", e.User, "command", e.Command, "status", status, "err", err)
	}
}

// auditCommand is the command line args as the audit log keeps it, with
// its secrets masked, and the app it names ("" when none).
func auditCommand(args []string) (line, app string) {
	if len(args) == 0 {
		return "(interactive shell)", ""
	}
	name := args[0]
	words := []string{auditWord(name)}
	switch name {
	case "git-receive-pack", "git-upload-pack":
		if len(args) == 2 {
			app, _ = repoArg(args[1])
		}
		for _, a := range args[1:] {
			words = append(words, auditWord(a))
		}
		return joinAudit(words), app
	}
	c := lookupCommand(name)
	if c == nil {
		// A mistyped command may hold anything: only its name is kept.
		if len(args) > 1 {
			words = append(words, fmt.Sprintf("[%d argument(s) not recorded]", len(args)-1))
		}
		return joinAudit(words), ""
	}
	if c.door.on == onApp && len(args) > 1 && paas.ValidateAppName(args[1]) == nil {
		app = args[1]
	}
	for i, a := range args[1:] {
		words = append(words, maskArg(c.name, i == 0 && app != "", a))
	}
	return joinAudit(words), app
}

// maskArg shows one argument of command name (isApp: it is the APP
// operand) as the audit log keeps it.
func maskArg(name string, isApp bool, a string) string {
	switch {
	case isApp, a == "--no-wait":
		return auditWord(a)
	case name == "config:set":
		// Every value is masked; an argument that is not KEY=VALUE may
		// be part of one.
		if k, _, ok := strings.Cut(a, "="); ok && paas.ValidateConfigKey(k) == nil {
			return k + "=" + auditMask
		}
		return auditMask
	case name == "run":
		// An environment assignment or an option's value in a one-off's
		// command line (TOKEN=..., --password=...) is treated like a
		// config value.
		if k, _, ok := strings.Cut(a, "="); ok {
			return auditWord(k) + "=" + auditMask
		}
	}
	if strings.Contains(a, "://") {
		// A drain's URL, or one in a one-off's command line, may carry
		// a password or a token.
		return auditWord(drains.Mask(a))
	}
	return auditWord(a)
}

// auditWord is one word of a recorded command line: bounded, and quoted
// as a shell would read it back, with control characters escaped, unless
// it is plain (KEY=VALUE of such characters included).
func auditWord(a string) string {
	if len(a) > maxAuditWord {
		cut := maxAuditWord
		for cut > 0 && !utf8.RuneStart(a[cut]) {
			cut--
		}
		a = a[:cut] + "..."
	}
	if a != "" && strings.Trim(a, plainChars) == "" {
		return a
	}
	return shellwords.Display(a)
}

// plainChars are the characters of a word shown unquoted.
const plainChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+:,./=-"

// joinAudit joins the words of a recorded command line, bounded.
func joinAudit(words []string) string {
	line := strings.Join(words, " ")
	if len(line) > maxAuditLine {
		cut := maxAuditLine
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + " [truncated]"
	}
	return line
}

// cmdAudit shows the audit log: `audit [-n N] [--json]`, the newest N
// entries (100 by default), oldest first.
func cmdAudit(s *Server, r *request, _ string, args []string) error {
	fl, rest, asJSON, err := listFlags(args, map[string]bool{"-n": true})
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("audit"))
	}
	n := defaultAuditEntries
	if v, ok := fl["-n"]; ok {
		if n, err = strconv.Atoi(v); err != nil || n < 1 || v != strconv.Itoa(n) {
			return paas.Errorf("invalid entry count %q: use a whole number from 1", v)
		}
	}
	if s.cfg.Audit == nil {
		return paas.Errorf("this server keeps no audit log")
	}
	entries, err := s.cfg.Audit.Entries(n)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return emptyListing(r, asJSON, "the audit log is empty")
	}
	if asJSON {
		list := make([]auditJSON, 0, len(entries))
		for _, e := range entries {
			list = append(list, toAuditJSON(e))
		}
		return writeJSON(r, list)
	}
	// The keys' fingerprints, too long for 80 columns, are in audit
	// --json.
	t := newTable("TIME", "USER", "FROM", "STATUS", "COMMAND")
	for _, e := range entries {
		from := e.Remote
		if host, _, err := net.SplitHostPort(from); err == nil {
			from = host // the port tells a reader nothing; --json keeps it
		}
		t.row(formatTime(e.Time), printable(e.User), printable(from), fmt.Sprint(e.Status), printable(e.Command))
	}
	return t.write(r.stdout)
}
