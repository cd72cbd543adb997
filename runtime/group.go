package runtime

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// drainTimeout bounds how long output is awaited after a process group is
// gone. Only a process that left the group (setsid) and kept its output
// open can hold it up; after the timeout its output is cut off.
const drainTimeout = 2 * time.Second

// group is one started process: a shell that leads its own process group,
// and whatever it spawned inside that group.
type group struct {
	cmd  *exec.Cmd
	pgid int

	exited chan struct{} // the leader has exited; it is not reaped yet
	killed chan struct{} // SIGKILL was sent to the whole group
	done   chan struct{} // reaped, output drained; state and err are set

	stopping atomic.Bool // Stop was called
	killOnce sync.Once

	state *os.ProcessState
	err   error // waiting failed (not a non-zero exit)
}

// newGroup wraps a started cmd whose process leads its process group.
func newGroup(cmd *exec.Cmd) *group {
	return &group{
		cmd:    cmd,
		pgid:   cmd.Process.Pid,
		exited: make(chan struct{}),
		killed: make(chan struct{}),
		done:   make(chan struct{}),
	}
}

// signal sends sig to every process in the group. A group that is
// already gone is not an error.
func (g *group) signal(sig syscall.Signal) {
	_ = syscall.Kill(-g.pgid, sig)
}

// kill sends SIGKILL to the group and records that it did.
func (g *group) kill() {
	g.signal(syscall.SIGKILL)
	g.killOnce.Do(func() { close(g.killed) })
}

// hasExited reports whether the leader has exited.
func (g *group) hasExited() bool {
	select {
	case <-g.exited:
		return true
	default:
		return false
	}
}

// supervise waits for the group to end; it runs once per group, in its own
// goroutine. When the leader exits on its own, whatever is left of the
// group is killed: an instance is over when its command is. During a Stop
// the rest of the group gets until the end of the grace period, which
// ends early once drained (the output of every process) is closed.
// closeOutput forcibly ends output reading when draining takes too long.
// finish runs after the leader is reaped and output has drained, just
// before done is closed.
func (g *group) supervise(drained <-chan struct{}, closeOutput func(), finish func()) {
	pid := g.cmd.Process.Pid
	observed := waitExited(pid) == nil
	if observed {
		close(g.exited)
		if g.stopping.Load() {
			select {
			case <-drained:
			case <-g.killed:
			}
		}
		// The leader is a zombie until Wait below, so its process group
		// ID cannot have been reused.
		g.signal(syscall.SIGKILL)
	}
	err := g.cmd.Wait()
	if !observed {
		close(g.exited)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		g.err = err
	}
	g.state = g.cmd.ProcessState

	t := time.NewTimer(drainTimeout)
	select {
	case <-drained:
	case <-t.C:
		closeOutput()
		t.Reset(drainTimeout)
		select {
		case <-drained:
		case <-t.C:
		}
	}
	t.Stop()
	if finish != nil {
		finish()
	}
	close(g.done)
}

// stop asks the group to end: SIGTERM to every process in it, then SIGKILL
// once grace has passed or ctx ends. It returns when the group is done,
// or with ctx's error when ctx ends first.
func (g *group) stop(ctx context.Context, grace time.Duration) error {
	g.stopping.Store(true)
	g.signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-g.done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	g.kill()
	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shellStatus is the status a shell would report: the exit status, or 128
// plus the number of the signal that ended the process.
func (g *group) shellStatus() int {
	if g.state == nil {
		return -1
	}
	if ws, ok := g.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return g.state.ExitCode()
}

// waitExited blocks until process pid has exited without reaping it.
func waitExited(pid int) error {
	const pPID = 1     // idtype P_PID of waitid(2)
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return errno
		}
	}
}
