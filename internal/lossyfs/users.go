package lossyfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KillUsers is the power cut for processes: it kills with SIGKILL every
// process (but this one) that has a file open, its working directory, its
// root or its executable in the mount, and waits until they are gone.
// Only a test that started every such process may call it.
func (l *FS) KillUsers(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids := usersOf(l.Dir)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still use %s after SIGKILL", pids, l.Dir)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		// A killed process is gone once the kernel has closed its
		// files; the loop looks again.
		time.Sleep(20 * time.Millisecond)
	}
}

// usersOf lists the processes (other than this one) using files in dir.
func usersOf(dir string) []int {
	prefix := dir + "/"
	under := func(p string) bool {
		p = strings.TrimSuffix(p, " (deleted)")
		return p == dir || strings.HasPrefix(p, prefix)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() {
			continue
		}
		links := []string{p + "/cwd", p + "/exe", p + "/root"}
		fds, _ := filepath.Glob(p + "/fd/*")
		for _, link := range append(links, fds...) {
			if target, err := os.Readlink(link); err == nil && under(target) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
