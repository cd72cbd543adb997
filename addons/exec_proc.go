package addons

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"paas/internal/procfs"
)

// execStopTimeout is how long a service has to shut down cleanly before
// it is killed.
const execStopTimeout = 30 * time.Second

// execPoll is how often the liveness of an adopted process and the
// growth of the log files are checked.
const execPoll = 200 * time.Millisecond

// errGone says that a service was destroyed.
var errGone = errors.New("add-on destroyed")

// execSvc is what an Exec knows of one service's process. mu serializes
// what starts and stops it.
type execSvc struct {
	ops   sync.Mutex // serializes restores and credential changes
	mu    chanMutex
	proc  *execProc // the running (or last) process; nil before one is known
	state string    // StateStarting, StateUp, StateCrashed, StateStopped
	gone  bool      // destroyed; set under both s.mu and Exec.mu

	watched bool // Supervise watches it; under Exec.mu
}

// chanMutex is a mutex that a select can wait on, so that Supervise's
// waits end with its context.
type chanMutex chan struct{}

func (m *chanMutex) init() {
	if *m == nil {
		*m = make(chan struct{}, 1)
	}
}

// Lock locks m.
func (m chanMutex) Lock() { m <- struct{}{} }

// Unlock unlocks m.
func (m chanMutex) Unlock() { <-m }

// svc returns the record of service name, making it when missing.
func (e *Exec) svc(name string) *execSvc {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.svcs[name]
	if !ok {
		s = &execSvc{state: StateStopped}
		s.mu.init()
		e.svcs[name] = s
	}
	return s
}

// execProc is one process of a service: a child of this Exec, or one an
// earlier paasd started (adopted), watched through /proc.
type execProc struct {
	pid    int
	start  uint64        // start time in clock ticks after boot
	exited chan struct{} // closed once the process is gone
}

// alive reports whether the process has not exited.
func (p *execProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// execRecord is the record of a service's running process, in its
// directory: enough for a later paasd to find it again, and to tell it
// from a later process that reuses the number.
type execRecord struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
	Boot  string `json:"boot,omitempty"`
}

// alive reports whether the recorded process still runs: a process of
// that number, started when recorded, in the same boot, and no zombie.
func (r execRecord) alive() bool {
	if r.PID <= 1 || r.Start == 0 {
		return false
	}
	if boot := procfs.BootID(); r.Boot != "" && boot != "" && r.Boot != boot {
		return false
	}
	st, err := procfs.ReadStat(r.PID)
	return err == nil && st.Start == r.Start && st.Running()
}

// readRecord reads service name's process record.
func (e *Exec) readRecord(name string) (execRecord, error) {
	var r execRecord
	b, err := os.ReadFile(filepath.Join(e.svcDir(name), execRecordFile))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decoding the process record of %s: %w", name, err)
	}
	return r, nil
}

// adopt watches the recorded process of service name when it still runs;
// it returns nil when there is none.
func (e *Exec) adopt(name string) *execProc {
	rec, err := e.readRecord(name)
	if err != nil || !rec.alive() {
		return nil
	}
	p := &execProc{pid: rec.PID, start: rec.Start, exited: make(chan struct{})}
	go func() {
		defer close(p.exited)
		for {
			st, err := procfs.ReadStat(p.pid)
			if err != nil || st.Start != p.start || !st.Running() {
				return
			}
			time.Sleep(execPoll)
		}
	}()
	return p
}

// current returns the service's running process, adopting a recorded one;
// nil when none runs. s.mu is held.
func (e *Exec) current(name string, s *execSvc) *execProc {
	if s.proc != nil && s.proc.alive() {
		return s.proc
	}
	if p := e.adopt(name); p != nil {
		s.proc = p
		s.state = StateUp
		return p
	}
	return nil
}

// startLocked starts service name's server, with Setsid so that it
// outlives this process, its output appended to its log file, and records
// it. s.mu is held.
func (e *Exec) startLocked(name string, s *execSvc) (*execProc, error) {
	return e.startProc(name, s)
}

// startProc is startLocked with extra arguments to the server.
func (e *Exec) startProc(name string, s *execSvc, extra ...string) (*execProc, error) {
	m, err := e.readMeta(name)
	if err != nil {
		return nil, err
	}
	cred, err := e.credential(name)
	if err != nil {
		return nil, err
	}
	// The host's packages may have been updated since: the version
	// recorded is the one that runs.
	if eng, err := lookup(m.Engine); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		v, err := e.engineVersion(ctx, eng)
		cancel()
		if err == nil && v != m.Version {
			e.log.Info("add-on engine updated", "addon", name, "from", m.Version, "to", v)
			m.Version = v
			if err := e.writeMeta(name, m); err != nil {
				return nil, err
			}
		}
	}
	data := e.dataDir(name)
	var argv []string
	switch m.Engine {
	case Postgres:
		argv = []string{e.bin(Postgres, "postgres"), "-D", filepath.Join(data, "pgdata"),
			"-c", "listen_addresses=127.0.0.1", "-c", "port=" + strconv.Itoa(m.Port),
			"-c", "unix_socket_directories=" + data, "-c", "unix_socket_permissions=0700"}
	case Redis:
		if err := e.writeRedisConf(name, m, cred); err != nil {
			return nil, err
		}
		argv = []string{e.bin(Redis, "redis-server"), filepath.Join(data, redisConfFile)}
	}
	argv = append(argv, extra...)
	logf, err := os.OpenFile(filepath.Join(e.svcDir(name), execLogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the log of add-on %s: %w", name, err)
	}
	defer logf.Close()
	cmd := &exec.Cmd{
		Path:   argv[0],
		Args:   argv,
		Dir:    data,
		Env:    execEnv(data),
		Stdout: logf,
		Stderr: logf,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:     true,
			Credential: cred,
			// The server does not die with this process.
		},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting add-on %s: %w", name, err)
	}
	p := &execProc{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	st, err := procfs.ReadStat(p.pid)
	if err == nil {
		p.start = st.Start
		var b []byte
		b, err = json.Marshal(execRecord{PID: p.pid, Start: p.start, Boot: procfs.BootID()})
		if err == nil {
			err = writeFileAtomic(filepath.Join(e.svcDir(name), execRecordFile), append(b, '\n'))
		}
	}
	if err != nil {
		// Not recorded, it could not be found again: it does not run.
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		<-p.exited
		return nil, fmt.Errorf("recording add-on %s: %w", name, err)
	}
	s.proc = p
	s.state = StateStarting
	e.log.Info("add-on started", "addon", name, "engine", m.Engine, "pid", p.pid, "port", m.Port)
	return p, nil
}

// stopLocked stops service name's process cleanly (postgres: SIGINT, a
// fast shutdown; redis: SIGTERM, which saves), kills its session after
// execStopTimeout, and drops its record. s.mu is held.
func (e *Exec) stopLocked(name string, s *execSvc) error {
	p := e.current(name, s)
	if p != nil {
		sig := syscall.SIGTERM
		if m, err := e.readMeta(name); err == nil && m.Engine == Postgres {
			sig = syscall.SIGINT
		}
		_ = syscall.Kill(p.pid, sig)
		select {
		case <-p.exited:
		case <-time.After(execStopTimeout):
			e.log.Warn("add-on did not stop in time: killing it", "addon", name, "pid", p.pid)
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				return fmt.Errorf("stopping add-on %s: process %d does not end", name, p.pid)
			}
		}
		e.log.Info("add-on stopped", "addon", name, "pid", p.pid)
	}
	s.state = StateStopped
	err := os.Remove(filepath.Join(e.svcDir(name), execRecordFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stopping add-on %s: %w", name, err)
	}
	return nil
}

// execEnv is the whole environment of a service's processes.
func execEnv(home string, extra ...string) []string {
	return append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + home}, extra...)
}

// command is a command of one of the engine's programs, run as service
// name's user in its data directory, in a process group of its own, with
// a clean environment plus env.
func (e *Exec) command(ctx context.Context, name string, argv []string, env ...string) (*exec.Cmd, error) {
	cred, err := e.credential(name)
	if err != nil {
		return nil, err
	}
	return e.commandAs(ctx, cred, e.dataDir(name), argv, env...)
}

// commandAs is a command run as cred (nil: this process's user) in dir.
func (e *Exec) commandAs(ctx context.Context, cred *syscall.Credential, dir string, argv []string, env ...string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = execEnv(dir, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd, nil
}

// run runs a command (see command) with stdin, and returns its stdout; a
// failure's error carries the last line of its output.
func (e *Exec) run(ctx context.Context, name string, stdin io.Reader, argv []string, env ...string) ([]byte, error) {
	cmd, err := e.command(ctx, name, argv, env...)
	if err != nil {
		return nil, err
	}
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s: %w%s", filepath.Base(argv[0]), err, lastLine(errb.Bytes(), out.Bytes()))
	}
	return out.Bytes(), nil
}

// lastLine returns ": " and the last non-empty line of the first output
// that has one, or "".
func lastLine(outs ...[]byte) string {
	for _, b := range outs {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
			return ": " + l
		}
	}
	return ""
}
