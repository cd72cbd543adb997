package procfs

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestProcesses(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.Env = []string{"PAAS_PROCFS_TEST=marker 1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	st, err := ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.PGID != pid || st.Start == 0 || !st.Running() {
		t.Errorf("stat %+v of a group leader %d", st, pid)
	}
	self, err := ReadStat(os.Getpid())
	if err != nil || self.Start > st.Start {
		t.Errorf("own stat %+v (%v) starts after the child's %d", self, err, st.Start)
	}
	if env := Environ(pid); !slices.Equal(env, []string{"PAAS_PROCFS_TEST=marker 1"}) {
		t.Errorf("environ %q", env)
	}
	pids, err := PIDs()
	if err != nil || !slices.Contains(pids, pid) || !slices.Contains(pids, os.Getpid()) {
		t.Errorf("PIDs: %v", err)
	}
	if len(BootID()) < 32 {
		t.Errorf("boot id %q", BootID())
	}
	if _, err := ReadStat(1 << 30); err == nil {
		t.Error("stat of a missing process")
	}
}

func TestReadUsage(t *testing.T) {
	// Hold 32 MiB, touched, and use at least 100 ms of CPU as getrusage
	// counts it.
	hold := make([]byte, 32<<20)
	for i := range hold {
		hold[i] = byte(i)
	}
	for {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= 100*time.Millisecond {
			break
		}
	}
	u, err := ReadUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.CPU < 80*time.Millisecond || u.RSS < 32<<20 {
		t.Errorf("own usage %+v: want at least 80ms of CPU (100ms by getrusage) and 32 MiB", u)
	}
	self, _ := ReadStat(os.Getpid())
	if u.PGID != self.PGID {
		t.Errorf("group %d, stat says %d", u.PGID, self.PGID)
	}
	if _, err := ReadUsage(1 << 30); err == nil {
		t.Error("usage of a process that does not exist")
	}
	runtime.KeepAlive(hold)
}
