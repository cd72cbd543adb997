package gateway

import (
	"strconv"
	"strings"
	"time"

	"paas"
	"paas/logs"
)

// defaultLogLines is how many lines `logs` shows without -n or --since.
const defaultLogLines = 100

// cmdLogs shows the app's log stream: `logs APP [-n N] [-t|--tail]
// [--ps|-d|--dyno TYPE|TYPE.N] [--source app|paas] [--since 10m|TIME]
// [--json]`.
// Without -n it shows the last 100 lines, or every line since --since.
// Lines are coloured by instance when the session has a terminal or the
// client asks with --color (the paas client does when its output is a
// terminal).
func cmdLogs(s *Server, r *request, app string, args []string) error {
	q, f, err := parseLogsArgs(args, time.Now())
	if err != nil {
		return err
	}
	f.Color = (f.Color || r.tty != nil) && !f.JSON
	return s.cfg.Platform.Logs(r.ctx, app, q, f, r.stdout)
}

// parseLogsArgs turns the logs command's flags into a query and format.
func parseLogsArgs(args []string, now time.Time) (logs.Query, logs.Format, error) {
	var q logs.Query
	var f logs.Format
	fl, rest, err := parseFlags(args, map[string]bool{
		"-n": true, "--num": true, "-t": false, "--tail": false, "--ps": true, "-d": true, "--dyno": true,
		"--source": true, "--since": true, "--json": false, "--color": false,
	})
	if err != nil {
		return q, f, err
	}
	if len(rest) != 0 {
		return q, f, usageError(lookupCommand("logs"))
	}
	q.N = defaultLogLines
	if v, ok := fl["--since"]; ok {
		t, err := logs.ParseSince(v, now)
		if err != nil {
			return q, f, paas.Errorf("invalid --since %q: %v", v, err)
		}
		q.Since = t
		q.N = -1
	}
	for _, name := range []string{"-n", "--num"} {
		if v, ok := fl[name]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return q, f, paas.Errorf("invalid line count %q: use a whole number", v)
			}
			q.N = n
		}
	}
	_, t1 := fl["-t"]
	_, t2 := fl["--tail"]
	q.Follow = t1 || t2
	// -d and --dyno are Heroku's names for --ps.
	for _, name := range []string{"--ps", "-d", "--dyno"} {
		if v, ok := fl[name]; ok {
			if err := validateProcFilter(v); err != nil {
				return q, f, err
			}
			q.Proc = v
		}
	}
	if v, ok := fl["--source"]; ok {
		if v != logs.SourceApp && v != logs.SourcePaas {
			return q, f, paas.Errorf("invalid --source %q: use app or paas", v)
		}
		q.Source = v
	}
	_, f.JSON = fl["--json"]
	_, f.Color = fl["--color"]
	return q, f, nil
}

// validateProcFilter accepts "TYPE" or "TYPE.N".
func validateProcFilter(p string) error {
	t, idx, hasIdx := strings.Cut(p, ".")
	if err := paas.ValidateProcessType(t); err != nil {
		return err
	}
	if hasIdx {
		if n, err := strconv.Atoi(idx); err != nil || n < 1 || idx != strconv.Itoa(n) {
			return paas.Errorf("invalid process %q: use TYPE or TYPE.N", p)
		}
	}
	return nil
}
