package gateway

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// TestRunDetached starts a one-off in the background with -d or
// --detach (before the command, and before a --): the platform is asked
// for a detached one-off of the command alone, and the answer names it.
// After the command, -d is the command's own.
func TestRunDetached(t *testing.T) {
	s, f := newTestServer(t)
	for _, args := range [][]string{
		{"run", "web-app", "-d", "echo", "hi"},
		{"run", "web-app", "--detach", "--", "echo", "hi"},
	} {
		r := run(s, args...)
		if r.status != 0 || r.stdout != "Running echo hi on web-app... up, run.4242\nIts output is in the logs: logs web-app --ps run.4242\n" {
			t.Errorf("%q: %d %q %q", args, r.status, r.stdout, r.stderr)
		}
		last := f.runs[len(f.runs)-1]
		if !last.Detached || !slices.Equal(last.Argv, []string{"echo", "hi"}) {
			t.Errorf("%q: platform asked %+v", args, last)
		}
	}
	if r := run(s, "run", "web-app", "echo", "-d"); r.status != 0 || f.runs[len(f.runs)-1].Detached || r.stdout != "[\"-d\"]\n" {
		t.Errorf("echo -d: %d %q, detached %v", r.status, r.stdout, f.runs[len(f.runs)-1].Detached)
	}
	var out bytes.Buffer
	st := s.dispatch(&request{ctx: context.Background(), by: "alice", user: user{name: "alice", admin: true}, args: []string{"run", "web-app", "-d", "true"},
		stdin: strings.NewReader(""), stdout: &out, stderr: &out, tty: &ttyInfo{term: "xterm"}})
	if st != 0 || out.String() != "Running true on web-app... up, run.4242\r\nIts output is in the logs: logs web-app --ps run.4242\r\n" {
		t.Errorf("run -d over a terminal: %d %q", st, out.String())
	}
	if r := run(s, "run", "web-app", "-d"); r.status == 0 || !strings.Contains(r.stderr, "usage: run") {
		t.Errorf("run -d without a command: %d %q", r.status, r.stderr)
	}
	if r := run(s, "run", "nope-app", "-d", "true"); r.status == 0 || !strings.Contains(r.stderr, "nope-app") {
		t.Errorf("run -d on a missing app: %d %q", r.status, r.stderr)
	}
}
