package stack

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// tailLines is how many of a failed command's last lines of output, and
// of debootstrap's log, an error reports.
const tailLines = 12

// runSummarised runs cmd, which must not be started, with its output
// summarised on out. It returns the command's last lines of output along
// with the error of a failed run. The command runs in its own process group
// and the whole group is killed when cmd's context ends (cmd must come from
// exec.CommandContext).
func runSummarised(cmd *exec.Cmd, out io.Writer) ([]string, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	pw.Close()

	sum := newSummary(out)
	tail := &ring{max: tailLines}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			tail.add(line)
			sum.line(line)
		}
		io.Copy(io.Discard, pr)
	}()
	stopTicks := sum.tickEvery(10 * time.Second)
	err = cmd.Wait()
	<-done
	stopTicks()
	pr.Close()
	sum.flush()
	return tail.lines(), err
}

// describeFailure makes the message of a failed step: what failed, how,
// and its last lines.
func describeFailure(what string, err error, tail []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "building the stack image: %s failed (%v); its last lines:", what, err)
	for _, l := range tail {
		b.WriteString("\n  " + l)
	}
	return b.String()
}

// ring keeps the last max lines added.
type ring struct {
	max int
	buf []string
}

func (r *ring) add(l string) {
	r.buf = append(r.buf, l)
	if len(r.buf) > r.max {
		r.buf = r.buf[len(r.buf)-r.max:]
	}
}

func (r *ring) lines() []string { return append([]string(nil), r.buf...) }
