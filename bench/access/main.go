// Command access measures what the per-app access check costs an SSH
// command. It starts two paasd (exec runtime): one with a single member
// owning one app, one with many members and apps, the measured member
// owning some and collaborating on some. It populates the second over SSH
// (keys:add as the admin, apps:create and access:add as each member, on
// one connection per user with several sessions at once) and reports how
// long that took. Then it times `ssh … apps` and `ssh … config APP` with
// the OpenSSH client, a fresh connection each, as the member (whose
// `apps` asks the access rule about every app) and as the admin (who may
// see everything), alternating between the two servers run by run, and
// prints the p50 and p90 of each; then the same commands each in a new
// session on a connection already open, which leaves out the client's
// start and key exchange and shows the server's own time. It prints a table and writes it to
// bench/results/access.txt (or the file -out names).
//
//	go run ./bench/access [-users 100] [-apps 1000] [-runs 40] [-parallel 8] [-out FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"paas/bench/internal/paasd"
	"paas/bench/internal/results"
)

// target is the most the large team's member `apps` p50 may exceed the
// small team's, as a ratio.
const target = 1.10

func main() {
	users := flag.Int("users", 100, "members of the large team, the measured one included")
	apps := flag.Int("apps", 1000, "apps of the large team")
	owned := flag.Int("owned", 5, "apps of the large team the measured member owns")
	collabs := flag.Int("collabs", 5, "apps of the large team the measured member collaborates on")
	runs := flag.Int("runs", 40, "runs of each command on each server")
	parallel := flag.Int("parallel", 8, "commands run at once while populating")
	results.Main("access", func(ctx context.Context, w *results.Table) error {
		if *users < 2 || *apps < *owned+*collabs || *owned < 1 || *collabs < 0 || *runs < 1 || *parallel < 1 {
			return fmt.Errorf("need -users >= 2, -owned >= 1, -apps >= owned + collabs, -runs >= 1, -parallel >= 1")
		}
		small := layout{label: "1 user, 1 app", users: 1, apps: 1, owned: 1}
		large := layout{label: fmt.Sprintf("%d users, %d apps", *users, *apps), users: *users, apps: *apps, owned: *owned, collabs: *collabs}
		return run(ctx, w, small, large, *runs, *parallel)
	})
}

// measure is one command timed as one user on one server.
type measure struct {
	command, as, via string
	args             []string      // the ssh client's, via a fresh connection
	client           *gossh.Client // via a session on this open connection
	want             string        // the output expected
	times            []time.Duration
}

func run(ctx context.Context, w *results.Table, small, large layout, runs, parallel int) error {
	ws, err := paasd.NewWorkspace(ctx, "paas-bench-access")
	if err != nil {
		return err
	}
	defer ws.Close()

	var teams []*team
	defer func() {
		for _, t := range teams {
			start := time.Now()
			err := t.destroy(context.Background(), parallel)
			if serr := t.srv.Stop(); err == nil {
				err = serr
			}
			if err != nil {
				fmt.Fprintf(w, "tearing down: %v\n", err)
			} else {
				fmt.Printf("tore down %d apps in %v\n", len(t.all), time.Since(start).Round(time.Millisecond))
			}
		}
	}()
	for _, l := range []layout{small, large} {
		srv, err := paasd.Start(paasd.Config{Binary: ws.Binary, Dir: filepath.Join(ws.Root, fmt.Sprintf("u%d-a%d", l.users, l.apps)), Runtime: "exec"})
		if err != nil {
			return err
		}
		t, err := populate(ctx, srv, l, parallel)
		if err != nil {
			srv.Stop()
			return fmt.Errorf("populating %s: %w\npaasd's last log lines:\n%s", l.label, err, srv.Tail())
		}
		teams = append(teams, t)
	}

	// measures[i] are the team i's, in the order of the table's rows.
	var measures [2][]*measure
	for i, t := range teams {
		app := t.visible[0]
		memberKey := t.members[0].keyFile
		measures[i] = []*measure{
			{command: "apps", as: "member", via: "ssh", args: sshArgs(t.srv, memberKey, "apps"), want: lines(t.visible)},
			{command: "apps", as: "admin", via: "ssh", args: sshArgs(t.srv, t.srv.Key, "apps"), want: lines(t.all)},
			{command: "config APP", as: "member", via: "ssh", args: sshArgs(t.srv, memberKey, "config "+app)},
			{command: "config APP", as: "admin", via: "ssh", args: sshArgs(t.srv, t.srv.Key, "config "+app)},
			{command: "apps", as: "member", via: "session", client: t.members[0].client, want: lines(t.visible)},
			{command: "apps", as: "admin", via: "session", client: t.admin, want: lines(t.all)},
			{command: "config " + app, as: "member", via: "session", client: t.members[0].client},
			{command: "config " + app, as: "admin", via: "session", client: t.admin},
		}
	}
	// Alternate: each run times every command on both servers, so that
	// whatever else the machine does weighs on both alike.
	for range runs {
		for j := range measures[0] {
			for i := range teams {
				if err := measures[i][j].once(ctx); err != nil {
					return err
				}
			}
		}
	}

	t := teams[1]
	fmt.Fprintf(w, "\nset-up of %s: %d keys:add as the admin, %d apps:create and %d access:add as their owners,\n",
		large.label, large.users, large.apps, large.collabs)
	fmt.Fprintf(w, "  over one SSH connection per user, %d commands at once: %v (%v a command)\n",
		parallel, t.setup.Round(time.Millisecond), (t.setup / time.Duration(large.users+large.apps+large.collabs)).Round(10*time.Microsecond))
	fmt.Fprintf(w, "the member sees %d apps of %d (owns %d, collaborates on %d)\n\n", len(t.visible), len(t.all), large.owned, large.collabs)
	fmt.Fprintf(w, "%-11s %-7s %-8s %21s %21s %13s\n", "", "", "", small.label, large.label, "")
	fmt.Fprintf(w, "%-11s %-7s %-8s %10s %10s %10s %10s %6s %6s\n", "command", "as", "via", "p50", "p90", "p50", "p90", "p50 x", "p90 x")
	for j := range measures[0] {
		a, b := measures[0][j], measures[1][j]
		command := a.command
		if strings.HasPrefix(command, "config ") {
			command = "config APP"
		}
		fmt.Fprintf(w, "%-11s %-7s %-8s %10s %10s %10s %10s %6.3f %6.3f\n", command, a.as, a.via,
			ms(a.p(50)), ms(a.p(90)), ms(b.p(50)), ms(b.p(90)),
			ratio(b.p(50), a.p(50)), ratio(b.p(90), a.p(90)))
	}
	r := ratio(measures[1][0].p(50), measures[0][0].p(50))
	verdict := "met"
	if r > target {
		verdict = "NOT met"
	}
	fmt.Fprintf(w, "\nmember apps p50, %s / %s: %.3f (target <= %.2f: %s)\n", large.label, small.label, r, target, verdict)
	fmt.Fprintf(w, "ssh: `ssh paas@127.0.0.1 COMMAND` with the OpenSSH client, a fresh connection each (what a user waits);\n")
	fmt.Fprintf(w, "session: a new session on a connection already open (Go's x/crypto/ssh client): the command alone,\n")
	fmt.Fprintf(w, "  without the client's start and key exchange; %d runs each, the two servers alternating run by run;\n", runs)
	fmt.Fprintf(w, "  x: the large team's time over the small one's\n")
	return w.Save()
}

// once runs m's command and keeps its time; the output must be m.want
// when that is set.
func (m *measure) once(ctx context.Context) error {
	start := time.Now()
	var out []byte
	var err error
	if m.client != nil {
		out, err = runSession(m.client, m.command)
	} else {
		out, err = exec.CommandContext(ctx, "ssh", m.args...).CombinedOutput()
	}
	d := time.Since(start)
	if err != nil {
		return fmt.Errorf("ssh %s as %s: %v: %s", m.command, m.as, err, out)
	}
	if m.want != "" && names(out) != m.want {
		return fmt.Errorf("ssh %s as %s printed %d bytes, want %d:\n%.400s", m.command, m.as, len(out), len(m.want), out)
	}
	m.times = append(m.times, d)
	return nil
}

// runSession runs command in a new session on client and returns what it
// printed.
func runSession(client *gossh.Client, command string) ([]byte, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	return sess.CombinedOutput(command)
}

// p is the q-th percentile of m's times (nearest rank).
func (m *measure) p(q int) time.Duration {
	ds := slices.Clone(m.times)
	slices.Sort(ds)
	i := (q*len(ds)+99)/100 - 1
	return ds[max(i, 0)]
}

// sshArgs runs command on srv with the OpenSSH client and key only.
func sshArgs(srv *paasd.Server, key, command string) []string {
	return []string{"-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-p", srv.SSHPort, "paas@127.0.0.1", command}
}

// names is the first column of a table's rows, one a line: the app
// names of `apps`.
func names(table []byte) string {
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(string(table), "\n"), "\n") {
		if f := strings.Fields(line); i > 0 && len(f) > 0 {
			b.WriteString(f[0] + "\n")
		}
	}
	return b.String()
}

func lines(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	return strings.Join(s, "\n") + "\n"
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
