package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process serving on addr.
type proc struct {
	name string
	addr string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// startSelf re-executes this program in role, with args, and waits for
// the address it prints on its first line of output.
func startSelf(role string, args ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program: %w", err)
	}
	c := exec.Command(exe, append([]string{"-role", role}, args...)...)
	out := &tail{}
	c.Stderr = out
	stdout, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := startProc(role, c, out)
	if err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
		for sc.Scan() {
		}
	}()
	select {
	case addr, ok := <-lines:
		if ok {
			p.addr = addr
			return p, nil
		}
	case <-time.After(10 * time.Second):
	}
	p.stop()
	return nil, fmt.Errorf("%s did not report its address: %v\n%s", role, p.err, out)
}

// startListening starts an external server c that will listen on addr,
// and waits until addr accepts connections.
func startListening(name string, c *exec.Cmd, addr string) (*proc, error) {
	out := &tail{}
	c.Stdout, c.Stderr = out, out
	p, err := startProc(name, c, out)
	if err != nil {
		return nil, err
	}
	p.addr = addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before listening: %v\n%s", name, p.err, out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s does not listen on %s: %v\n%s", name, addr, err, out)
		}
	}
}

// startProc starts c, killed when this program dies.
func startProc(name string, c *exec.Cmd, out *tail) (*proc, error) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: c, out: out, done: make(chan struct{})}
	go func() {
		p.err = c.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid is the process's id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process to end with SIGTERM and kills it after a grace
// period.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether the process has ended, with its status.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		if p.err == nil {
			return true, errors.New("exited")
		}
		return true, p.err
	default:
		return false, nil
	}
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail keeps the last 8 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8<<10 {
		t.buf = bytes.Clone(t.buf[len(t.buf)-8<<10:])
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
