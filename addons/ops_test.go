package addons

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"paas"
	"paas/runtime"
)

// connect runs the engine's client of s as user/password with stdin as
// its input (no terminal) and returns its exit status and output.
func (s *service) connect(t *testing.T, user, password, stdin string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code, err := s.env.d.Connect(t.Context(), s.name, user, password, runtime.Stdio{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return code, out.String()
}

// sql runs statements as app and returns the output, failing the test
// when psql fails.
func (s *service) sql(t *testing.T, statements string) string {
	t.Helper()
	code, out := s.connect(t, "app", s.password, "\\set QUIET on\n\\pset tuples_only on\n\\pset format unaligned\n"+statements)
	if code != 0 {
		t.Fatalf("psql: exit %d: %s", code, out)
	}
	return out
}

// backup returns a backup of s.
func (s *service) backup(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.env.d.Backup(t.Context(), s.name, &buf); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return buf.Bytes()
}

// checkRefused checks that err is one line of paas.Error containing want.
func checkRefused(t *testing.T, what string, err error, want string) {
	t.Helper()
	var pe *paas.Error
	if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("%s: %v, want one line of paas.Error with %q", what, err, want)
	}
}

// TestBackupRestore backs up a postgres and a redis service, changes
// their data and restores it; dumps of the other engine, garbage and a
// truncated dump are refused, leaving the data as it was.
func TestBackupRestore(t *testing.T) {
	env := testDocker(t)
	var pg, rd *service
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); rd = createService(t, env, Redis) }()
	pg = createService(t, env, Postgres)
	wg.Wait()
	if rd == nil {
		t.FailNow()
	}

	pg.sql(t, "create table notes (id int primary key, body text);\ninsert into notes values (1, 'one'), (2, 'two');\n")
	if code, out := rd.connect(t, "default", rd.password, "set k kept\n"); code != 0 || strings.TrimSpace(out) != "OK" {
		t.Fatalf("redis set: %d %s", code, out)
	}
	pgDump, rdDump := pg.backup(t), rd.backup(t)
	if !bytes.HasPrefix(pgDump, []byte("PGDMP")) || !bytes.HasPrefix(rdDump, []byte("REDIS")) {
		t.Fatalf("dumps start %q and %q", pgDump[:min(8, len(pgDump))], rdDump[:min(8, len(rdDump))])
	}

	pg.sql(t, "delete from notes where id = 2;\n")
	if code, out := rd.connect(t, "default", rd.password, "set k changed\n"); code != 0 || strings.TrimSpace(out) != "OK" {
		t.Fatalf("redis set: %d %s", code, out)
	}
	pgWant, rdWant := "1|one\n", "changed\n"
	check := func(when string) {
		t.Helper()
		if got := pg.sql(t, "select id, body from notes order by id;\n"); got != pgWant {
			t.Errorf("postgres %s: %q, want %q", when, got, pgWant)
		}
		if code, out := rd.connect(t, "default", rd.password, "get k\n"); code != 0 || out != rdWant {
			t.Errorf("redis %s: %d %q, want %q", when, code, out, rdWant)
		}
	}

	checkRefused(t, "postgres restore of a redis dump", env.d.Restore(t.Context(), pg.name, bytes.NewReader(rdDump)), "this is a redis dump; "+pg.name+" runs postgres")
	checkRefused(t, "redis restore of a postgres dump", env.d.Restore(t.Context(), rd.name, bytes.NewReader(pgDump)), "this is a postgres dump; "+rd.name+" runs redis")
	for _, garbage := range []string{"", "hello", "-- PostgreSQL database dump\nselect 1;\n"} {
		checkRefused(t, "postgres restore of garbage", env.d.Restore(t.Context(), pg.name, strings.NewReader(garbage)), "not a postgres dump")
		checkRefused(t, "redis restore of garbage", env.d.Restore(t.Context(), rd.name, strings.NewReader(garbage)), "not a redis dump")
	}
	check("after refused restores")

	// Dumps cut short fail midway: the data stays.
	err := env.d.Restore(t.Context(), pg.name, bytes.NewReader(pgDump[:len(pgDump)*2/3]))
	if err == nil {
		t.Error("restoring a truncated postgres dump succeeded")
	}
	t.Logf("truncated postgres dump: %v", err)
	err = env.d.Restore(t.Context(), rd.name, bytes.NewReader(rdDump[:len(rdDump)-10]))
	if err == nil {
		t.Error("restoring a truncated redis dump succeeded")
	}
	t.Logf("truncated redis dump: %v", err)
	check("after failed restores")
	if got := pg.sql(t, "select count(*) from pg_database where datname like 'paas_restore%';\n"); got != "0\n" {
		t.Errorf("databases of the failed restore left: %q", got)
	}

	if err := env.d.Restore(t.Context(), pg.name, bytes.NewReader(pgDump)); err != nil {
		t.Fatalf("Restore postgres: %v", err)
	}
	if err := env.d.Restore(t.Context(), rd.name, bytes.NewReader(rdDump)); err != nil {
		t.Fatalf("Restore redis: %v", err)
	}
	pgWant, rdWant = "1|one\n2|two\n", "kept\n"
	check("after the restores")
	// The restored data is app's, and written to as before.
	if got := pg.sql(t, "select tableowner from pg_tables where tablename = 'notes';\ninsert into notes values (3, 'three');\nselect count(*) from notes;\n"); got != "app\n3\n" {
		t.Errorf("restored table: %q", got)
	}
	// Redis keeps the restored data across a restart (it is in the
	// append-only file, not only the RDB loaded).
	rd.restart(t)
	pgWant = "1|one\n2|two\n3|three\n"
	check("after a restart")
	checkStatus(t, pg)
	checkStatus(t, rd)
}

// TestRestoreRunsAsApp restores a dump whose statements try to leave the
// restoring role and make app a superuser: the restore fails and app is
// no superuser, the data as it was.
func TestRestoreRunsAsApp(t *testing.T) {
	env := testDocker(t)
	pg := createService(t, env, Postgres)
	filler := strings.Repeat("x", 60)
	pg.sql(t, "create table t (x int);\ninsert into t values (1);\ncomment on table t is '"+filler+"';\n")
	dump := pg.backup(t)
	stmt := "COMMENT ON TABLE public.t IS '" + filler + "'"
	evil := "RESET ROLE;ALTER ROLE app SUPERUSER;SELECT '"
	evil += strings.Repeat("y", len(stmt)-len(evil)-1) + "'"
	if !bytes.Contains(dump, []byte(stmt)) {
		t.Fatalf("no %q in the dump", stmt)
	}
	crafted := bytes.Replace(dump, []byte(stmt), []byte(evil), 1)
	pg.sql(t, "insert into t values (2);\n")
	if err := env.d.Restore(t.Context(), pg.name, bytes.NewReader(crafted)); err == nil {
		t.Error("a dump that alters a role was restored")
	}
	if got := pg.sql(t, "select rolsuper from pg_roles where rolname = 'app';\n"); got != "f\n" {
		t.Errorf("app is a superuser after restoring a crafted dump: %q", got)
	}
	if got := pg.sql(t, "select count(*) from t;\n"); got != "2\n" {
		t.Errorf("t has %q rows, want the 2 from before the failed restore", got)
	}
	if got := pg.sql(t, "select count(*) from pg_roles where rolname = 'paas_restore';\n"); got != "0\n" {
		t.Errorf("the restore's login remains: %q", got)
	}
}

// TestConnect runs statements on the client's stdin: their output and the
// exit status come back, psql stopping at the first error; a wrong
// password fails.
func TestConnect(t *testing.T) {
	env := testDocker(t)
	var pg, rd *service
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); rd = createService(t, env, Redis) }()
	pg = createService(t, env, Postgres)
	wg.Wait()
	if rd == nil {
		t.FailNow()
	}
	code, out := pg.connect(t, "app", pg.password, "select 40 + 2 as answer;\n")
	if code != 0 || !strings.Contains(out, "42") || !strings.Contains(out, "answer") {
		t.Errorf("psql: %d %s", code, out)
	}
	code, out = pg.connect(t, "app", pg.password, "select 1 as first;\nselect nope;\nselect 3 as never;\n")
	if code == 0 || !strings.Contains(out, `column "nope" does not exist`) || strings.Contains(out, "never") {
		t.Errorf("psql with a failing statement: %d %s", code, out)
	}
	code, out = pg.connect(t, "app", NewPassword(), "select 1;\n")
	if code == 0 || !strings.Contains(out, "password authentication failed") {
		t.Errorf("psql with a wrong password: %d %s", code, out)
	}
	code, out = pg.connect(t, "app", pg.password, "\\! id -u\n")
	if strings.TrimSpace(out) != "65534" {
		t.Errorf("psql's shell escape runs as: %d %q", code, out)
	}
	code, out = rd.connect(t, "default", rd.password, "set k v\nget k\n")
	if code != 0 || out != "OK\nv\n" {
		t.Errorf("redis-cli: %d %q", code, out)
	}
	code, out = rd.connect(t, "default", NewPassword(), "ping\n")
	if strings.Contains(out, "PONG") {
		t.Errorf("redis-cli with a wrong password: %d %q", code, out)
	}
	// With a terminal: psql prompts, sized as the client's window.
	var tty bytes.Buffer
	resize := make(chan runtime.WindowSize, 1)
	resize <- runtime.WindowSize{Cols: 123, Rows: 45}
	code, err := env.d.Connect(t.Context(), pg.name, "app", pg.password, runtime.Stdio{
		Stdin: strings.NewReader("\\! stty size\nselect 6 * 7 as product;\n\\q\n"), Stdout: &tty,
		TTY: true, Term: "xterm", Window: runtime.WindowSize{Cols: 100, Rows: 30}, Resize: resize,
	})
	if err != nil || code != 0 || !strings.Contains(tty.String(), "app=>") || !strings.Contains(tty.String(), "42") {
		t.Errorf("psql on a terminal: %d %v %q", code, err, tty.String())
	}
	if !strings.Contains(tty.String(), "45 123") && !strings.Contains(tty.String(), "30 100") {
		t.Errorf("the terminal's size is not the client's: %q", tty.String())
	}
	// A client on a terminal whose caller goes is ended.
	ctx, cancel := context.WithCancel(t.Context())
	stdin, stdinW := io.Pipe()
	defer stdinW.Close()
	var prompt syncWriter
	prompt.c = make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := env.d.Connect(ctx, pg.name, "app", pg.password, runtime.Stdio{Stdin: stdin, Stdout: &prompt, TTY: true})
		done <- err
	}()
	<-prompt.c
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Connect cancelled: %v", err)
	}
	if code, out, err := env.d.exec(t.Context(), containerName(pg.name), "", nil, []string{"ps", "-u", "nobody", "-o", "pid=,args="}); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("clients left running: %d %v %q", code, err, out)
	}
	if _, err := env.d.Connect(t.Context(), pg.name, "postgres", pg.password, runtime.Stdio{}); err == nil {
		t.Error("Connect as postgres succeeded")
	}
	if _, err := env.d.Connect(t.Context(), "t-missing-"+randomHex(), "app", pg.password, runtime.Stdio{}); err == nil || !strings.Contains(err.Error(), "no add-on") {
		t.Errorf("Connect to a missing service: %v", err)
	}
}

// TestPostgresCredentials adds a second login and removes the first: the
// new one works, acting as app; the old one stops working.
func TestPostgresCredentials(t *testing.T) {
	env := testDocker(t)
	s := createService(t, env, Postgres)
	s.sql(t, "create table t (v text);\ninsert into t values ('x');\n")
	pw2 := NewPassword()
	if err := env.d.AddCredential(t.Context(), s.name, "app_2", pw2); err != nil {
		t.Fatalf("AddCredential: %v", err)
	}
	for _, c := range []struct{ user, pw string }{{"app", s.password}, {"app_2", pw2}} {
		if code, out := s.connect(t, c.user, c.pw, "select count(*) from t;\n"); code != 0 || !strings.Contains(out, "1") {
			t.Errorf("%s after AddCredential: %d %s", c.user, code, out)
		}
	}
	// What app_2 makes is app's.
	if code, out := s.connect(t, "app_2", pw2, "create table u (v text);\nselect tableowner from pg_tables where tablename = 'u';\n"); code != 0 || !strings.Contains(out, " app\n") {
		t.Errorf("a table app_2 made: %d %s", code, out)
	}
	if err := env.d.RemoveCredential(t.Context(), s.name, "app", s.password); err != nil {
		t.Fatalf("RemoveCredential: %v", err)
	}
	if code, out := s.connect(t, "app", s.password, "select 1;\n"); code == 0 {
		t.Errorf("the removed credential works: %s", out)
	}
	if code, out := s.connect(t, "app_2", pw2, "select count(*) from t, u;\n"); code != 0 {
		t.Errorf("app_2 after app's removal: %d %s", code, out)
	}
	// app logs in again with a new password; app_2 goes, its sessions
	// and objects given to app.
	pw3 := NewPassword()
	if err := env.d.AddCredential(t.Context(), s.name, "app", pw3); err != nil {
		t.Fatalf("AddCredential app: %v", err)
	}
	if err := env.d.RemoveCredential(t.Context(), s.name, "app_2", pw2); err != nil {
		t.Fatalf("RemoveCredential app_2: %v", err)
	}
	if code, out := s.connect(t, "app_2", pw2, "select 1;\n"); code == 0 {
		t.Errorf("the removed app_2 works: %s", out)
	}
	if code, out := s.connect(t, "app", pw3, "select count(*) from t, u;\nselect count(*) from pg_roles where rolname = 'app_2';\n"); code != 0 || !strings.Contains(out, "\n     0\n") {
		t.Errorf("app after app_2's removal: %d %s", code, out)
	}
	if err := env.d.RemoveCredential(t.Context(), s.name, "app_2", pw2); err != nil {
		t.Errorf("removing app_2 again: %v", err)
	}
	if err := env.d.AddCredential(t.Context(), s.name, "postgres", pw3); err == nil {
		t.Error("AddCredential for postgres succeeded")
	}
}

// TestRedisCredentials adds a password and removes the first one; both
// states survive a restart of the service.
func TestRedisCredentials(t *testing.T) {
	env := testDocker(t)
	s := createService(t, env, Redis)
	works := func(pw string) bool {
		t.Helper()
		_, out := s.connect(t, "default", pw, "ping\n")
		return strings.TrimSpace(out) == "PONG"
	}
	pw1, pw2 := s.password, NewPassword()
	if err := env.d.AddCredential(t.Context(), s.name, "default", pw2); err != nil {
		t.Fatalf("AddCredential: %v", err)
	}
	if !works(s.password) || !works(pw2) {
		t.Errorf("after AddCredential: old %v, new %v", works(s.password), works(pw2))
	}
	s.restart(t)
	if !works(s.password) || !works(pw2) {
		t.Errorf("after AddCredential and a restart: old %v, new %v", works(s.password), works(pw2))
	}
	if err := env.d.RemoveCredential(t.Context(), s.name, "default", s.password); err != nil {
		t.Fatalf("RemoveCredential: %v", err)
	}
	if works(s.password) || !works(pw2) {
		t.Errorf("after RemoveCredential: old %v, new %v", works(s.password), works(pw2))
	}
	s.password = pw2 // restart's readiness check logs in with it
	s.restart(t)
	if works(pw1) || !works(pw2) {
		t.Errorf("after RemoveCredential and a restart: old %v, new %v", works(pw1), works(pw2))
	}
	if err := env.d.RemoveCredential(t.Context(), s.name, "default", pw1); err != nil {
		t.Errorf("removing the removed password again: %v", err)
	}
	if !works(pw2) {
		t.Error("removing the removed password again stopped the new one working")
	}
	if err := env.d.AddCredential(t.Context(), s.name, "other", pw2); err == nil {
		t.Error("AddCredential for a user other than default succeeded")
	}
}

// syncWriter closes c at the first prompt written to it.
type syncWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	c    chan struct{}
	seen bool
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.seen && strings.Contains(w.buf.String(), "app=>") {
		w.seen = true
		close(w.c)
	}
	return len(p), nil
}

// lineSink collects the lines Follow delivers and signals those matching
// a pattern.
type lineSink struct {
	mu    sync.Mutex
	lines map[string][]string
	wait  map[string]chan struct{} // substring -> closed when seen
}

func newLineSink() *lineSink {
	return &lineSink{lines: map[string][]string{}, wait: map[string]chan struct{}{}}
}

func (l *lineSink) deliver(name string, lines [][]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range lines {
		s := string(b)
		l.lines[name] = append(l.lines[name], s)
		for sub, c := range l.wait {
			if strings.Contains(s, sub) {
				close(c)
				delete(l.wait, sub)
			}
		}
	}
}

// expect returns a channel closed once a line containing sub arrives.
func (l *lineSink) expect(sub string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := make(chan struct{})
	l.wait[sub] = c
	return c
}

// TestFollowAndLogs follows the services' output: a failed login the
// service logs arrives, from a service running before Follow started and
// from one created after, also after its container restarted; Logs has
// it.
func TestFollowAndLogs(t *testing.T) {
	env := testDocker(t)
	sink := newLineSink()
	env.d.cfg.Lines = sink.deliver
	early := createService(t, env, Postgres)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	followDone := make(chan struct{})
	go func() { defer close(followDone); env.d.Follow(ctx) }()
	defer func() { cancel(); <-followDone }()

	s := createService(t, env, Postgres)
	waitLine := func(s *service, c <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(30 * time.Second):
			sink.mu.Lock()
			defer sink.mu.Unlock()
			t.Fatalf("no line of %s in 30s; lines: %q", what, sink.lines[s.name])
		}
	}
	seen := sink.expect(`password authentication failed for user "app_7"`)
	early.connect(t, "app_7", NewPassword(), "select 1;\n")
	waitLine(early, seen, "a failed login to a service running before Follow")

	seen = sink.expect(`password authentication failed for user "app"`)
	s.connect(t, "app", NewPassword(), "select 1;\n")
	waitLine(s, seen, "a failed login")

	s.restart(t)
	seen = sink.expect(`password authentication failed for user "app_9"`)
	s.connect(t, "app_9", NewPassword(), "select 1;\n")
	waitLine(s, seen, "a failed login after a restart")

	lines, err := env.d.Logs(t.Context(), s.name, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 || len(lines) > 50 || !strings.Contains(strings.Join(lines, "\n"), `password authentication failed for user "app_9"`) {
		t.Errorf("Logs: %q", lines)
	}
	for _, l := range lines {
		if strings.Contains(l, "\n") {
			t.Errorf("a log line holds a line end: %q", l)
		}
	}
	if lines, err := env.d.Logs(t.Context(), s.name, 2); err != nil || len(lines) != 2 {
		t.Errorf("Logs(2): %q, %v", lines, err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, l := range sink.lines[s.name] {
		if strings.Contains(l, s.password) {
			t.Errorf("the password in the service's output: %q", l)
		}
	}
	// Lines are not delivered twice.
	n := 0
	for _, l := range sink.lines[s.name] {
		if strings.Contains(l, `password authentication failed for user "app"`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the failed login delivered %d times: %q", n, sink.lines[s.name])
	}
}
