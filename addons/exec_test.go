package addons

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"paas"
	"paas/internal/procfs"
	"paas/runtime"
)

// testUID is the uid (and gid) test services run as: one no account has.
const testUID = 61234

// needEngine skips the test when the host lacks engine's programs,
// naming the Debian package that has them.
func needEngine(t *testing.T, engine string) {
	t.Helper()
	e := &Exec{cfg: ExecConfig{PostgresBin: "/usr/lib/postgresql/15/bin"}}
	if err := e.checkBinaries(engine); err != nil {
		t.Skipf("the host lacks the %s programs (CI installs them): %v", engine, err)
	}
}

// execEnvT is what an exec test works with.
type execEnvT struct {
	e     *Exec
	dir   string
	lines *lineLog
}

// lineLog collects what Exec hands to Lines.
type lineLog struct {
	mu    sync.Mutex
	lines map[string][]string
}

func (l *lineLog) add(name string, lines [][]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range lines {
		l.lines[name] = append(l.lines[name], string(b))
	}
}

func (l *lineLog) has(name, sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines[name] {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// newExecT returns an Exec whose services run as testUID, in a directory
// short enough for unix socket paths, that the test removes (with its
// services) at its end.
func newExecT(t *testing.T) *execEnvT {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running services as another uid needs root")
	}
	dir, err := os.MkdirTemp("", "paex")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	env := &execEnvT{dir: filepath.Join(dir, "addons"), lines: &lineLog{lines: map[string][]string{}}}
	env.e = env.open(t)
	t.Cleanup(func() {
		e := env.open(t)
		names, _ := e.Names(context.Background())
		for _, n := range names {
			if err := e.Destroy(context.Background(), n); err != nil {
				t.Errorf("destroying %s: %v", n, err)
			}
		}
		os.RemoveAll(dir)
	})
	return env
}

// open returns a new Exec on the test's directory.
func (env *execEnvT) open(t *testing.T) *Exec {
	t.Helper()
	e, err := NewExec(ExecConfig{
		Dir: env.dir,
		Credential: func(string) (*syscall.Credential, error) {
			return &syscall.Credential{Uid: testUID, Gid: testUID}, nil
		},
		Lines:  env.lines.add,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// supervise runs e.Supervise until the test ends or the returned stop is
// called, which waits for it to return.
func supervise(t *testing.T, e *Exec) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Supervise(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// create makes a service and returns it with its password.
func (env *execEnvT) create(t *testing.T, name, engine string) (Service, string) {
	t.Helper()
	pw := NewPassword()
	var out bytes.Buffer
	svc, err := env.e.Create(context.Background(), name, engine, pw, &out)
	if err != nil {
		t.Fatalf("creating %s %s: %v", engine, name, err)
	}
	if svc.Host != "127.0.0.1" || svc.Port == 0 || svc.Version == "" {
		t.Fatalf("service %+v", svc)
	}
	return svc, pw
}

// psql runs sql over TCP as user with password; it returns the output
// and the error.
func psql(t *testing.T, svc Service, user, password, sql string) (string, error) {
	t.Helper()
	cmd := exec.Command("/usr/lib/postgresql/15/bin/psql", "-X", "-A", "-t", "-q", "-w", "-v", "ON_ERROR_STOP=1",
		"-h", svc.Host, "-p", strconv.Itoa(svc.Port), "-U", user, "-d", "app", "-c", sql)
	cmd.Env = []string{"PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=5", "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// pgSession is a psql process of a test.
type pgSession struct {
	done chan struct{} // closed when it exited
	err  error         // how, once done
}

// session starts a psql session of user that stays in a query for a
// minute.
func session(t *testing.T, svc Service, user, password string) *pgSession {
	t.Helper()
	cmd := exec.Command("/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-w",
		"-h", svc.Host, "-p", strconv.Itoa(svc.Port), "-U", user, "-d", "app", "-c", "SELECT pg_sleep(60)")
	cmd.Env = []string{"PGPASSWORD=" + password, "PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &pgSession{done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	eventually(t, 10*time.Second, user+"'s session in pg_stat_activity", func() bool {
		out, err := psql(t, svc, user, password, "SELECT count(*) FROM pg_stat_activity WHERE usename = '"+user+"' AND pid <> pg_backend_pid()")
		return err == nil && out == "1"
	})
	return s
}

// ended checks that a session ended with an error.
func ended(t *testing.T, s *pgSession, what string) {
	t.Helper()
	select {
	case <-s.done:
		if s.err == nil {
			t.Errorf("%s: the session's query completed", what)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("%s: the session still runs", what)
	}
}

// mustPsql is psql that must succeed.
func mustPsql(t *testing.T, svc Service, user, password, sql string) string {
	t.Helper()
	out, err := psql(t, svc, user, password, sql)
	if err != nil {
		t.Fatalf("psql %q as %s: %v: %s", sql, user, err, out)
	}
	return out
}

// rcli runs one redis command over TCP as default with password and
// returns the reply.
func rcli(t *testing.T, svc Service, password string, args ...string) string {
	t.Helper()
	argv := append([]string{"--no-auth-warning", "-h", svc.Host, "-p", strconv.Itoa(svc.Port), "--user", "default"}, args...)
	cmd := exec.Command("redis-cli", argv...)
	cmd.Env = []string{"REDISCLI_AUTH=" + password, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// pidOf returns the recorded pid of a service's process.
func (env *execEnvT) pidOf(t *testing.T, name string) int {
	t.Helper()
	rec, err := env.e.readRecord(name)
	if err != nil {
		t.Fatalf("reading the process record of %s: %v", name, err)
	}
	return rec.PID
}

// uidOf returns the real uid of process pid.
func uidOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no Uid line")
	return -1
}

// eventually polls cond every 50ms until it holds, failing the test
// after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkConfined checks that a service runs as testUID, its data is its
// own and closed, and its metadata is not its.
func (env *execEnvT) checkConfined(t *testing.T, name string) {
	t.Helper()
	if uid := uidOf(t, env.pidOf(t, name)); uid != testUID {
		t.Errorf("%s runs as uid %d, want %d", name, uid, testUID)
	}
	fi, err := os.Stat(env.e.dataDir(name))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != testUID || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: uid %d mode %v, want %d 0700", st.Uid, fi.Mode().Perm(), testUID)
	}
	for _, f := range []string{"", execMetaFile, execRecordFile, execLogFile} {
		fi, err := os.Stat(filepath.Join(env.e.svcDir(name), f))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s/%s: uid %d mode %v: writable by the service", name, f, st.Uid, fi.Mode().Perm())
		}
	}
}

func TestExecPostgresCreate(t *testing.T) {
	needEngine(t, Postgres)
	env := newExecT(t)
	svc, pw := env.create(t, "pg1", Postgres)
	if svc.User != "app" || !strings.HasPrefix(svc.Version, "15.") {
		t.Errorf("service %+v", svc)
	}
	if got := mustPsql(t, svc, "app", pw, "SELECT current_user || ' ' || current_database()"); got != "app app" {
		t.Errorf("logged in as %q", got)
	}
	if out, err := psql(t, svc, "app", NewPassword(), "SELECT 1"); err == nil || !strings.Contains(out, "password authentication failed") {
		t.Errorf("a wrong password: %v %s", err, out)
	}
	if out, err := psql(t, svc, "postgres", pw, "SELECT 1"); err == nil {
		t.Errorf("the superuser logs in over TCP: %s", out)
	}
	env.checkConfined(t, "pg1")
	st, err := env.e.Status(context.Background(), "pg1")
	if err != nil || st.State != StateUp || st.Engine != Postgres || st.Version != svc.Version || st.DiskBytes <= 0 {
		t.Errorf("status %+v, %v", st, err)
	}
	if _, err := env.e.Create(context.Background(), "pg1", Postgres, NewPassword(), nil); !isUserError(err) || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second pg1: %v", err)
	}
	names, err := env.e.Names(context.Background())
	if err != nil || len(names) != 1 || names[0] != "pg1" {
		t.Errorf("names %v, %v", names, err)
	}
	if st, _ := env.e.Status(context.Background(), "nope"); st.State != StateMissing {
		t.Errorf("status of a missing service: %+v", st)
	}
}

func TestExecRedisCreate(t *testing.T) {
	needEngine(t, Redis)
	env := newExecT(t)
	svc, pw := env.create(t, "rd1", Redis)
	if svc.User != "default" || !strings.HasPrefix(svc.Version, "7.") {
		t.Errorf("service %+v", svc)
	}
	if got := rcli(t, svc, pw, "SET", "k", "v"); got != "OK" {
		t.Errorf("SET: %q", got)
	}
	if got := rcli(t, svc, NewPassword(), "GET", "k"); !strings.Contains(got, "NOAUTH") && !strings.Contains(got, "WRONGPASS") {
		t.Errorf("a wrong password: %q", got)
	}
	env.checkConfined(t, "rd1")
	conf, err := os.ReadFile(filepath.Join(env.e.dataDir("rd1"), redisConfFile))
	if err != nil || bytes.Contains(conf, []byte(pw)) {
		t.Errorf("the configuration holds the password, or: %v", err)
	}
}

func TestExecCreateMissingBinaries(t *testing.T) {
	e, err := NewExec(ExecConfig{Dir: t.TempDir(), PostgresBin: t.TempDir(), RedisBin: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for engine, want := range map[string]string{Postgres: "apt-get install postgresql-15", Redis: "apt-get install redis-server"} {
		_, err := e.Create(context.Background(), "x1", engine, NewPassword(), nil)
		if !isUserError(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s without its programs: %v", engine, err)
		}
	}
	if names, _ := e.Names(context.Background()); len(names) != 0 {
		t.Errorf("left %v", names)
	}
}

// isUserError reports whether err is a *paas.Error.
func isUserError(err error) bool {
	var pe *paas.Error
	return errors.As(err, &pe)
}

func TestExecPostgresBackupRestore(t *testing.T) {
	needEngine(t, Postgres)
	env := newExecT(t)
	ctx := context.Background()
	svc, pw := env.create(t, "pg2", Postgres)
	mustPsql(t, svc, "app", pw, "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'kept')")
	var dump bytes.Buffer
	if err := env.e.Backup(ctx, "pg2", &dump); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(dump.Bytes(), []byte("PGDMP")) {
		t.Fatalf("dump starts with %q", dump.Bytes()[:min(dump.Len(), 8)])
	}
	mustPsql(t, svc, "app", pw, "DELETE FROM notes; INSERT INTO notes VALUES (2, 'later')")
	rows := func() string {
		return mustPsql(t, svc, "app", pw, "SELECT string_agg(id || ':' || body, ',' ORDER BY id) FROM notes")
	}

	for what, bad := range map[string][]byte{
		"garbage":      []byte("hello, this is not a dump\n"),
		"empty":        nil,
		"a redis dump": []byte("REDIS0010\xfa\tredis-ver"),
		"truncated":    dump.Bytes()[:dump.Len()*2/3],
	} {
		err := env.e.Restore(ctx, "pg2", bytes.NewReader(bad))
		if err == nil {
			t.Errorf("restoring %s: no error", what)
		}
		if what == "a redis dump" && (!isUserError(err) || err.Error() != "this is a redis dump; pg2 runs postgres") {
			t.Errorf("restoring a redis dump: %v", err)
		}
		if got := rows(); got != "2:later" {
			t.Errorf("after restoring %s: rows %q", what, got)
		}
	}
	// A session open during the restore is ended; the app reconnects.
	open := session(t, svc, "app", pw)
	if err := env.e.Restore(ctx, "pg2", bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatal(err)
	}
	ended(t, open, "restore")
	if got := rows(); got != "1:kept" {
		t.Errorf("after the restore: rows %q", got)
	}
	if got := mustPsql(t, svc, "app", pw, "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'"); got != "app" {
		t.Errorf("restored table owned by %q", got)
	}
	if got := mustPsql(t, svc, "app", pw, "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'app%'"); got != "app" {
		t.Errorf("databases after the restore: %q", got)
	}
}

func TestExecRedisBackupRestore(t *testing.T) {
	needEngine(t, Redis)
	env := newExecT(t)
	ctx := context.Background()
	svc, pw := env.create(t, "rd2", Redis)
	rcli(t, svc, pw, "SET", "k", "kept")
	var dump bytes.Buffer
	if err := env.e.Backup(ctx, "rd2", &dump); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(dump.Bytes(), []byte("REDIS")) {
		t.Fatalf("dump starts with %q", dump.Bytes()[:min(dump.Len(), 8)])
	}
	rcli(t, svc, pw, "SET", "k", "later")
	pid := env.pidOf(t, "rd2")
	for what, bad := range map[string][]byte{
		"garbage":         []byte("hello, this is not a dump\n"),
		"a postgres dump": []byte("PGDMP\x01\x0e\x00"),
		"truncated":       dump.Bytes()[:dump.Len()-12],
	} {
		err := env.e.Restore(ctx, "rd2", bytes.NewReader(bad))
		if err == nil {
			t.Errorf("restoring %s: no error", what)
		}
		if what == "a postgres dump" && (!isUserError(err) || err.Error() != "this is a postgres dump; rd2 runs redis") {
			t.Errorf("restoring a postgres dump: %v", err)
		}
		if got := rcli(t, svc, pw, "GET", "k"); got != "later" {
			t.Errorf("after restoring %s: k = %q", what, got)
		}
	}
	if got := env.pidOf(t, "rd2"); got != pid {
		t.Errorf("a refused dump restarted the service")
	}
	if err := env.e.Restore(ctx, "rd2", bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := rcli(t, svc, pw, "GET", "k"); got != "kept" {
		t.Errorf("after the restore: k = %q", got)
	}
	// The restored data is in the append-only files: a restart keeps it.
	rcli(t, svc, pw, "SET", "k2", "after")
	env.restart(t, "rd2")
	if got := rcli(t, svc, pw, "MGET", "k", "k2"); got != "kept\nafter" {
		t.Errorf("after a restart: %q", got)
	}
}

// restart stops a service and starts it again, as a reboot would.
func (env *execEnvT) restart(t *testing.T, name string) {
	t.Helper()
	e := env.e
	s := e.svc(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := e.stopLocked(name, s); err != nil {
		t.Fatal(err)
	}
	m, err := e.readMeta(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.startLocked(name, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.waitReady(context.Background(), name, p, func(ctx context.Context) error { return e.probe(ctx, name, m) }); err != nil {
		t.Fatal(err)
	}
}

func TestExecPostgresCredentials(t *testing.T) {
	needEngine(t, Postgres)
	env := newExecT(t)
	ctx := context.Background()
	svc, pw := env.create(t, "pg3", Postgres)
	pw2 := NewPassword()
	if err := env.e.AddCredential(ctx, "pg3", "app_2", pw2); err != nil {
		t.Fatal(err)
	}
	mustPsql(t, svc, "app", pw, "SELECT 1")
	mustPsql(t, svc, "app_2", pw2, "CREATE TABLE t2 (x int)")
	if got := mustPsql(t, svc, "app", pw, "SELECT tableowner FROM pg_tables WHERE tablename = 't2'"); got != "app" {
		t.Errorf("a table app_2 made is owned by %q", got)
	}
	open := session(t, svc, "app", pw)
	if err := env.e.RemoveCredential(ctx, "pg3", "app", pw); err != nil {
		t.Fatal(err)
	}
	ended(t, open, "removing app's password")
	if out, err := psql(t, svc, "app", pw, "SELECT 1"); err == nil {
		t.Errorf("the removed password still works: %s", out)
	}
	env.restart(t, "pg3")
	if out, err := psql(t, svc, "app", pw, "SELECT 1"); err == nil {
		t.Errorf("the removed password works after a restart: %s", out)
	}
	mustPsql(t, svc, "app_2", pw2, "INSERT INTO t2 VALUES (1)")

	// The next rotation: app_3 in, app_2 out; what app_2 owned stays.
	pw3 := NewPassword()
	if err := env.e.AddCredential(ctx, "pg3", "app_3", pw3); err != nil {
		t.Fatal(err)
	}
	open = session(t, svc, "app_2", pw2)
	if err := env.e.RemoveCredential(ctx, "pg3", "app_2", pw2); err != nil {
		t.Fatal(err)
	}
	ended(t, open, "removing app_2")
	if out, err := psql(t, svc, "app_2", pw2, "SELECT 1"); err == nil {
		t.Errorf("app_2 still logs in: %s", out)
	}
	if got := mustPsql(t, svc, "app_3", pw3, "SELECT count(*) FROM t2"); got != "1" {
		t.Errorf("t2 has %s rows", got)
	}
	if err := env.e.AddCredential(ctx, "pg3", "bad name'", pw3); err == nil {
		t.Error("a user name that is no identifier was taken")
	}
}

func TestExecRedisCredentials(t *testing.T) {
	needEngine(t, Redis)
	env := newExecT(t)
	ctx := context.Background()
	svc, pw := env.create(t, "rd3", Redis)
	pw2 := NewPassword()
	if err := env.e.AddCredential(ctx, "rd3", "default", pw2); err != nil {
		t.Fatal(err)
	}
	rcli(t, svc, pw, "PING")
	rcli(t, svc, pw2, "PING")
	if err := env.e.RemoveCredential(ctx, "rd3", "default", pw); err != nil {
		t.Fatal(err)
	}
	if got := rcli(t, svc, pw, "PING"); got == "PONG" {
		t.Error("the removed password still works")
	}
	env.restart(t, "rd3")
	if got := rcli(t, svc, pw, "PING"); got == "PONG" {
		t.Error("the removed password works after a restart")
	}
	if got := rcli(t, svc, pw2, "PING"); got != "PONG" {
		t.Errorf("the new password after a restart: %q", got)
	}
}

func TestExecConnect(t *testing.T) {
	needEngine(t, Postgres)
	needEngine(t, Redis)
	env := newExecT(t)
	ctx := context.Background()
	_, pw := env.create(t, "pg4", Postgres)
	_, rpw := env.create(t, "rd4", Redis)

	var out, errb bytes.Buffer
	code, err := env.e.Connect(ctx, "pg4", "app", pw, runtime.Stdio{
		Stdin:  strings.NewReader("CREATE TABLE c (x int);\nINSERT INTO c VALUES (41);\nSELECT x + 1 AS answer FROM c;\n"),
		Stdout: &out, Stderr: &errb,
	})
	if err != nil || code != 0 || !strings.Contains(out.String(), "42") {
		t.Errorf("psql: %d %v: %s %s", code, err, out.String(), errb.String())
	}
	out.Reset()
	code, err = env.e.Connect(ctx, "pg4", "app", pw, runtime.Stdio{
		Stdin:  strings.NewReader("SELECT nonsense;\nSELECT 'not reached';\n"),
		Stdout: &out, Stderr: &errb,
	})
	if err != nil || code != 3 || strings.Contains(out.String(), "not reached") {
		t.Errorf("psql stopping at an error: %d %v: %s", code, err, out.String())
	}
	code, _ = env.e.Connect(ctx, "pg4", "app", NewPassword(), runtime.Stdio{Stdin: strings.NewReader("SELECT 1;\n"), Stdout: &out, Stderr: &errb})
	if code == 0 {
		t.Error("psql with a wrong password exited 0")
	}

	out.Reset()
	code, err = env.e.Connect(ctx, "rd4", "default", rpw, runtime.Stdio{
		Stdin: strings.NewReader("SET greeting hello\nGET greeting\n"), Stdout: &out, Stderr: &errb,
	})
	if err != nil || code != 0 || !strings.Contains(out.String(), "hello") {
		t.Errorf("redis-cli: %d %v: %s", code, err, out.String())
	}

	// On a terminal.
	out.Reset()
	code, err = env.e.Connect(ctx, "pg4", "app", pw, runtime.Stdio{
		TTY: true, Stdin: strings.NewReader("SELECT 6 * 7 AS product;\n\\q\n"), Stdout: &out,
	})
	if err != nil || code != 0 || !strings.Contains(out.String(), "42") {
		t.Errorf("psql on a terminal: %d %v: %q", code, err, out.String())
	}
}

func TestExecAdoptAndRestart(t *testing.T) {
	needEngine(t, Postgres)
	env := newExecT(t)
	stop := supervise(t, env.e)
	svc, pw := env.create(t, "pg5", Postgres)
	pid := env.pidOf(t, "pg5")
	mustPsql(t, svc, "app", pw, "CREATE TABLE a (x int); INSERT INTO a VALUES (7)")

	// The Exec that started it is gone; the service runs on, and a new
	// one adopts it without a restart.
	stop()
	env.e = env.open(t)
	if got := mustPsql(t, svc, "app", pw, "SELECT x FROM a"); got != "7" {
		t.Errorf("read %q", got)
	}
	supervise(t, env.e)
	eventually(t, 10*time.Second, "adopted service up", func() bool {
		st, err := env.e.Status(context.Background(), "pg5")
		return err == nil && st.State == StateUp
	})
	if got := env.pidOf(t, "pg5"); got != pid {
		t.Fatalf("adopting restarted the service: pid %d, was %d", got, pid)
	}

	// Killed, it is started again.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "killed service restarted", func() bool {
		rec, err := env.e.readRecord("pg5")
		return err == nil && rec.PID != pid && rec.alive()
	})
	eventually(t, 30*time.Second, "restarted service answers", func() bool {
		_, err := psql(t, svc, "app", pw, "SELECT 1")
		return err == nil
	})
	if got := mustPsql(t, svc, "app", pw, "SELECT x FROM a"); got != "7" {
		t.Errorf("after the restart: %q", got)
	}
	if uid := uidOf(t, env.pidOf(t, "pg5")); uid != testUID {
		t.Errorf("restarted as uid %d", uid)
	}
}

func TestExecLogsAndDestroy(t *testing.T) {
	needEngine(t, Postgres)
	env := newExecT(t)
	supervise(t, env.e)
	svc, pw := env.create(t, "pg6", Postgres)
	bad := NewPassword()
	if _, err := psql(t, svc, "app", bad, "SELECT 1"); err == nil {
		t.Fatal("a wrong password worked")
	}
	eventually(t, 10*time.Second, "the failed login's line in Lines", func() bool {
		return env.lines.has("pg6", `password authentication failed for user "app"`)
	})
	lines, err := env.e.Logs(context.Background(), "pg6", 50)
	if err != nil || len(lines) == 0 || len(lines) > 50 {
		t.Fatalf("logs: %d lines, %v", len(lines), err)
	}
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "password authentication failed") || strings.Contains(all, pw) || strings.Contains(all, bad) {
		t.Errorf("logs:\n%s", all)
	}
	if got, _ := env.e.Logs(context.Background(), "pg6", 1); len(got) != 1 || got[0] != lines[len(lines)-1] {
		t.Errorf("the last line: %q", got)
	}

	pid := env.pidOf(t, "pg6")
	if err := env.e.Destroy(context.Background(), "pg6"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(env.e.svcDir("pg6")); !os.IsNotExist(err) {
		t.Errorf("its directory: %v", err)
	}
	if st, err := procfs.ReadStat(pid); err == nil && st.Running() {
		t.Errorf("its process %d still runs", pid)
	}
	if st, _ := env.e.Status(context.Background(), "pg6"); st.State != StateMissing {
		t.Errorf("status %+v", st)
	}
	if err := env.e.Destroy(context.Background(), "pg6"); err != nil {
		t.Errorf("destroying it again: %v", err)
	}
}

func TestExecPostgresRestoreRunsAsApp(t *testing.T) {
	needEngine(t, Postgres)
	env := newExecT(t)
	ctx := context.Background()
	svc, pw := env.create(t, "pg7", Postgres)
	filler := strings.Repeat("x", 60)
	mustPsql(t, svc, "app", pw, "CREATE TABLE t (x int); INSERT INTO t VALUES (1); COMMENT ON TABLE t IS '"+filler+"'")
	var dump bytes.Buffer
	if err := env.e.Backup(ctx, "pg7", &dump); err != nil {
		t.Fatal(err)
	}
	// A dump is SQL: one whose statement leaves the restoring role.
	stmt := "COMMENT ON TABLE public.t IS '" + filler + "'"
	evil := "RESET ROLE;ALTER ROLE app SUPERUSER;SELECT '"
	evil += strings.Repeat("y", len(stmt)-len(evil)-1) + "'"
	if !bytes.Contains(dump.Bytes(), []byte(stmt)) {
		t.Fatalf("no %q in the dump", stmt)
	}
	crafted := bytes.Replace(dump.Bytes(), []byte(stmt), []byte(evil), 1)
	mustPsql(t, svc, "app", pw, "INSERT INTO t VALUES (2)")
	if err := env.e.Restore(ctx, "pg7", bytes.NewReader(crafted)); err == nil {
		t.Error("a dump that alters a role was restored")
	}
	if got := mustPsql(t, svc, "app", pw, "SELECT rolsuper FROM pg_roles WHERE rolname = 'app'"); got != "f" {
		t.Errorf("app is a superuser after restoring a crafted dump")
	}
	if got := mustPsql(t, svc, "app", pw, "SELECT count(*) FROM t"); got != "2" {
		t.Errorf("t has %s rows, want the 2 from before the failed restore", got)
	}
}

func TestExecLogTruncated(t *testing.T) {
	needEngine(t, Postgres)
	env := newExecT(t)
	env.e.maxLog = 4 << 10
	supervise(t, env.e)
	svc, _ := env.create(t, "pg8", Postgres)
	failLogin := func(user string) {
		if _, err := psql(t, svc, user, NewPassword(), "SELECT 1"); err == nil {
			t.Fatalf("%s logged in", user)
		}
	}
	for i := 0; ; i++ {
		if i == 200 {
			t.Fatal("the log was not truncated")
		}
		failLogin("user" + strconv.Itoa(i))
		if _, err := os.Stat(filepath.Join(env.e.svcDir("pg8"), execOldLogFile)); err == nil {
			break
		}
	}
	failLogin("lastuser")
	eventually(t, 10*time.Second, "the last failed login in Lines", func() bool {
		return env.lines.has("pg8", `password authentication failed for user "lastuser"`)
	})
	fi, err := os.Stat(filepath.Join(env.e.svcDir("pg8"), execLogFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > env.e.maxLog+execKeepLog {
		t.Errorf("the log has %d bytes", fi.Size())
	}
	if !env.lines.has("pg8", `password authentication failed for user "user0"`) {
		t.Error("a line from before the truncation is not in Lines")
	}
	lines, err := env.e.Logs(context.Background(), "pg8", 1000)
	if err != nil {
		t.Fatal(err)
	}
	// The log's last part before the truncation is kept.
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, `"lastuser"`) || !strings.Contains(all, `"user0"`) {
		t.Errorf("logs after truncation:\n%s", all)
	}
	if b, err := os.ReadFile(filepath.Join(env.e.svcDir("pg8"), execLogFile)); err != nil || bytes.Contains(b, []byte(`"user0"`)) {
		t.Errorf("the log was not truncated: %v", err)
	}
}

func TestExecStatusWhileCreating(t *testing.T) {
	needEngine(t, Postgres)
	env := newExecT(t)
	created := make(chan error, 1)
	go func() {
		_, err := env.e.Create(context.Background(), "pg9", Postgres, NewPassword(), nil)
		created <- err
	}()
	eventually(t, 10*time.Second, "the service's metadata", func() bool {
		_, err := env.e.readMeta("pg9")
		return err == nil
	})
	st, err := env.e.Status(context.Background(), "pg9")
	select {
	case err := <-created:
		t.Fatalf("created before its status was asked: %v", err)
	default:
	}
	if err != nil || st.State != StateStarting {
		t.Errorf("status while creating: %+v, %v", st, err)
	}
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	if st, err := env.e.Status(context.Background(), "pg9"); err != nil || st.State != StateUp {
		t.Errorf("status once created: %+v, %v", st, err)
	}
}

func TestExecVersionFollowsTheHost(t *testing.T) {
	needEngine(t, Redis)
	env := newExecT(t)
	svc, pw := env.create(t, "rd10", Redis)
	// As if the service had been made by an older redis-server.
	m, err := env.e.readMeta("rd10")
	if err != nil {
		t.Fatal(err)
	}
	m.Version = "7.0.1"
	if err := env.e.writeMeta("rd10", m); err != nil {
		t.Fatal(err)
	}
	env.restart(t, "rd10")
	if st, err := env.e.Status(context.Background(), "rd10"); err != nil || st.Version != svc.Version {
		t.Errorf("status after a restart on an updated host: %+v, %v; want version %s", st, err, svc.Version)
	}
	if got := rcli(t, svc, pw, "PING"); got != "PONG" {
		t.Errorf("PING: %q", got)
	}
}
