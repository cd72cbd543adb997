package addons

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"paas"
)

// ExecConfig configures Exec.
type ExecConfig struct {
	// Dir holds one directory per service (PAAS_DATA_DIR/addons); it is
	// made when missing, owned by this process's user, mode 0711: the
	// services pass through it to their own directory but cannot list it.
	Dir string
	// Credential returns the uid and gid service name runs as; nil runs
	// services as this process's user. It is asked at every start.
	Credential func(name string) (*syscall.Credential, error)
	// Lines, when set, receives every output line of every service from
	// Supervise's start on, in batches; it must not block for long.
	Lines  func(name string, lines [][]byte)
	Logger *slog.Logger
	// PostgresBin is the directory of PostgreSQL 15's programs;
	// /usr/lib/postgresql/15/bin when empty.
	PostgresBin string
	// RedisBin is the directory of redis-server, redis-cli and
	// redis-check-rdb; they are looked up on PATH when empty.
	RedisBin string
	// InitUser is the account initdb runs as when services run as other
	// users (initdb refuses a uid without an account, and the services'
	// uids have none); "postgres", Debian's account, when empty.
	InitUser string
}

// Exec runs services as processes of the host's own PostgreSQL and Redis
// programs, each as its own user, listening on a loopback port. The
// processes outlive the Exec that started them: a later one adopts them
// (Supervise). It is safe for concurrent use.
type Exec struct {
	cfg ExecConfig
	log *slog.Logger

	mu   sync.Mutex
	svcs map[string]*execSvc // services this Exec has started, adopted or stopped
	sup  context.Context     // Supervise's context, while it runs

	watchers  sync.WaitGroup  // Supervise's goroutines
	maxLog    int64           // execMaxLog, smaller in tests
	portMu    sync.Mutex      // held from picking a port to recording it
	redisPass credentialMarks // where redis services' connections stood at their newest password
}

// Paths inside Dir/NAME, the service's directory (owned by this process's
// user, 0711). Its data directory is the service's own (0700); the rest
// only this process writes or reads.
const (
	execMetaFile   = "service.json" // execMeta
	execRecordFile = "process.json" // execRecord of the running process
	execLogFile    = "log"          // the service's stdout and stderr
	execOldLogFile = "log.1"        // the log's last part before truncation
	execDataDir    = "data"         // the service's own
)

// execMeta is what paasd keeps of a service, in its directory, out of the
// service's reach.
type execMeta struct {
	Engine  string    `json:"engine"`
	Version string    `json:"version"`
	Port    int       `json:"port"`
	Created time.Time `json:"created"`
	// Redis: the SHA-256 (hex) of each password of user "default", and
	// the password of the user "paas" that paasd's own requests use.
	Hashes []string `json:"hashes,omitempty"`
	Admin  string   `json:"admin,omitempty"`
}

// NewExec returns an Exec keeping its services under cfg.Dir.
func NewExec(cfg ExecConfig) (*Exec, error) {
	if cfg.Dir == "" {
		return nil, errors.New("add-ons: no directory for services")
	}
	if cfg.PostgresBin == "" {
		cfg.PostgresBin = "/usr/lib/postgresql/15/bin"
	}
	if cfg.InitUser == "" {
		cfg.InitUser = "postgres"
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("add-ons directory: %w", err)
	}
	cfg.Dir = abs
	if err := os.MkdirAll(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("making the add-ons directory: %w", err)
	}
	if err := os.Chmod(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("making the add-ons directory: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Exec{cfg: cfg, log: log, svcs: make(map[string]*execSvc), maxLog: execMaxLog}, nil
}

// svcDir is service name's directory.
func (e *Exec) svcDir(name string) string { return filepath.Join(e.cfg.Dir, name) }

// dataDir is service name's data directory.
func (e *Exec) dataDir(name string) string { return filepath.Join(e.cfg.Dir, name, execDataDir) }

// readMeta reads service name's metadata; a missing service is a
// *paas.Error.
func (e *Exec) readMeta(name string) (execMeta, error) {
	var m execMeta
	if paas.ValidateAppName(name) != nil {
		return m, paas.Errorf("no add-on %s", name)
	}
	b, err := os.ReadFile(filepath.Join(e.svcDir(name), execMetaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return m, paas.Errorf("no add-on %s", name)
	}
	if err != nil {
		return m, fmt.Errorf("reading add-on %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("reading add-on %s: %w", name, err)
	}
	if _, err := lookup(m.Engine); err != nil {
		return m, fmt.Errorf("reading add-on %s: %w", name, err)
	}
	return m, nil
}

// writeMeta replaces service name's metadata atomically.
func (e *Exec) writeMeta(name string, m execMeta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding add-on %s: %w", name, err)
	}
	return writeFileAtomic(filepath.Join(e.svcDir(name), execMetaFile), append(b, '\n'))
}

// writeFileAtomic writes a file of mode 0600 by a rename.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

// credential is the user service name runs as; nil: this process's.
func (e *Exec) credential(name string) (*syscall.Credential, error) {
	if e.cfg.Credential == nil {
		return nil, nil
	}
	c, err := e.cfg.Credential(name)
	if err != nil {
		return nil, fmt.Errorf("the user of add-on %s: %w", name, err)
	}
	if c != nil && c.Uid == 0 {
		return nil, fmt.Errorf("the user of add-on %s: refusing to run it as root", name)
	}
	if c != nil {
		// No supplementary groups.
		c = &syscall.Credential{Uid: c.Uid, Gid: c.Gid}
	}
	return c, nil
}

// bin is the path of one of engine's programs.
func (e *Exec) bin(engine, prog string) string {
	if engine == Postgres {
		return filepath.Join(e.cfg.PostgresBin, prog)
	}
	if e.cfg.RedisBin != "" {
		return filepath.Join(e.cfg.RedisBin, prog)
	}
	if p, err := exec.LookPath(prog); err == nil {
		return p
	}
	return prog
}

// checkBinaries fails with one line naming the Debian package when one of
// engine's programs is missing from the host.
func (e *Exec) checkBinaries(engine string) error {
	progs := map[string][]string{
		Postgres: {"initdb", "postgres", "pg_ctl", "pg_dump", "pg_restore", "psql"},
		Redis:    {"redis-server", "redis-cli", "redis-check-rdb"},
	}[engine]
	for _, p := range progs {
		path := e.bin(engine, p)
		if fi, err := os.Stat(path); err != nil || !filepath.IsAbs(path) || fi.IsDir() || fi.Mode()&0o111 == 0 {
			if engine == Postgres {
				return paas.Errorf("postgres add-ons need PostgreSQL 15 on this host: apt-get install postgresql-15")
			}
			return paas.Errorf("redis add-ons need Redis on this host: apt-get install redis-server")
		}
	}
	return nil
}

// Attach does nothing: services listen on loopback, where every app
// reaches them.
func (e *Exec) Attach(ctx context.Context, name, app string) error { return nil }

// Detach does nothing, as Attach.
func (e *Exec) Detach(ctx context.Context, name, app string) error { return nil }

// Names lists the services under Dir, whatever their state (an
// interrupted Create's too).
func (e *Exec) Names(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(e.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("listing add-on services: %w", err)
	}
	var names []string
	for _, ent := range ents {
		if ent.IsDir() && paas.ValidateAppName(ent.Name()) == nil {
			names = append(names, ent.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Status reports one service: "up" when its process runs and answered,
// "starting" before it answers, "crashed" when it exited and Supervise is
// restarting it, "stopped" when it does not run, "missing" when there is
// no such service.
func (e *Exec) Status(ctx context.Context, name string) (Status, error) {
	st := Status{Name: name, State: StateMissing, DiskBytes: -1}
	m, err := e.readMeta(name)
	var pe *paas.Error
	if errors.As(err, &pe) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.Engine, st.Version = m.Engine, m.Version
	st.DiskBytes = diskUsage(e.dataDir(name))
	// A service being made, started or stopped is "starting": Status
	// does not wait for that.
	s := e.svc(name)
	var p *execProc
	var state string
	select {
	case s.mu <- struct{}{}:
		p, state = s.proc, s.state
		s.mu.Unlock()
	default:
		st.State = StateStarting
		return st, nil
	}
	alive := p != nil && p.alive()
	if p == nil {
		if rec, err := e.readRecord(name); err == nil && rec.alive() {
			alive = true
			state = StateUp
		}
	}
	switch {
	case alive && state == StateStarting:
		st.State = StateStarting
	case alive:
		st.State = StateUp
	case state == StateCrashed:
		st.State = StateCrashed
	default:
		st.State = StateStopped
	}
	return st, nil
}

// diskUsage is the size in bytes of the files under dir, or -1.
func diskUsage(dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return n
}

// Destroy stops the service cleanly (postgres fast shutdown, redis
// SIGTERM, which saves and exits as SHUTDOWN does) and removes its
// directory (idempotent).
func (e *Exec) Destroy(ctx context.Context, name string) error {
	if paas.ValidateAppName(name) != nil {
		return nil
	}
	s := e.svc(name)
	s.ops.Lock() // after a restore or credential change under way
	defer s.ops.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := e.stopLocked(name, s); err != nil {
		return err
	}
	e.mu.Lock()
	s.gone = true
	delete(e.svcs, name)
	e.mu.Unlock()
	if err := os.RemoveAll(e.svcDir(name)); err != nil {
		return fmt.Errorf("removing add-on %s: %w", name, err)
	}
	e.log.Info("add-on destroyed", "addon", name)
	return nil
}
