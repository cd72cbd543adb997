package runtime

import (
	"os/exec"
	"strconv"
	"syscall"
)

// DefaultExecProcs caps the processes and threads of one app's user on
// the exec runtime when ExecConfig.MaxProcs is zero: every instance and
// one-off of the app together, so that a fork bomb stops at it instead
// of taking the host's process ids.
const DefaultExecProcs = 1024

// execLimits are the resource limits an exec process starts under.
type execLimits struct {
	// procs is RLIMIT_NPROC, the processes and threads the app's user may
	// have at once; 0 for none. The kernel counts them per user, so it is
	// set only when the app runs as a user of its own.
	procs int64
	// data is RLIMIT_DATA, the bytes of heap and other private writable
	// memory each process may map; 0 for none.
	data int64
}

// limits returns the limits a process of spec s runs under: the spec's
// memory, else the default, per process; the user's process cap when the
// app has a user of its own.
func (e *Exec) limits(s Spec, cred *syscall.Credential) execLimits {
	l := execLimits{data: s.Memory}
	if l.data == 0 {
		l.data = e.cfg.DefaultMemory
	}
	if cred != nil && cred.Uid != 0 {
		l.procs = e.cfg.MaxProcs
		if l.procs == 0 {
			l.procs = DefaultExecProcs
		}
	}
	return l
}

// limit makes cmd start under l: util-linux's prlimit sets the limits on
// itself and then executes the command, so no process of the app ever
// runs without them. Without prlimit on the host cmd is left as it is
// (NewExec has warned).
func (e *Exec) limit(cmd *exec.Cmd, l execLimits) {
	if e.prlimit == "" || l.procs <= 0 && l.data <= 0 {
		return
	}
	args := []string{e.prlimit}
	if l.procs > 0 {
		args = append(args, "--nproc="+strconv.FormatInt(l.procs, 10))
	}
	if l.data > 0 {
		args = append(args, "--data="+strconv.FormatInt(l.data, 10))
	}
	args = append(args, "--")
	cmd.Args = append(args, cmd.Args...)
	cmd.Path = e.prlimit
}

// findPrlimit returns the path of util-linux's prlimit, "" when the host
// has none.
func findPrlimit() string {
	p, err := exec.LookPath("prlimit")
	if err != nil {
		return ""
	}
	return p
}
