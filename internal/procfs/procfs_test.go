package procfs

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
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
