package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	listenTimeout = time.Minute
	sshTimeout    = 2 * time.Minute
	stopTimeout   = time.Minute
)

// paasd is one server under measurement, with its own data dir and key.
type paasd struct {
	cmd      *exec.Cmd
	dir      string
	key      string
	sshPort  string
	httpAddr string
	out      *logWatch
	exited   chan struct{}
}

// startPaasd runs the binary bin on loopback ports with a fresh data dir
// under dir and returns once its JSON log says where it listens.
func startPaasd(bin, dir, runtime string) (*paasd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("making %s: %w", dir, err)
	}
	p := &paasd{dir: dir, key: filepath.Join(dir, "id_ed25519"), exited: make(chan struct{})}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", p.key).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("generating a key: %w: %s", err, out)
	}
	p.out = newLogWatch()
	p.cmd = exec.Command(bin)
	p.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"PAAS_DATA_DIR=" + filepath.Join(dir, "data"),
		"PAAS_SSH_ADDR=127.0.0.1:0",
		"PAAS_HTTP_ADDR=127.0.0.1:0",
		"PAAS_AUTHORIZED_KEYS=" + p.key + ".pub",
		"PAAS_LOG_FORMAT=json",
		"PAAS_RUNTIME=" + runtime,
		"PAAS_STOP_TIMEOUT=10s",
	}
	for _, name := range []string{"DOCKER_HOST", "PAAS_STACK_IMAGE", "GOPROXY", "GOFLAGS"} {
		if v, ok := os.LookupEnv(name); ok {
			p.cmd.Env = append(p.cmd.Env, name+"="+v)
		}
	}
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting paasd: %w", err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	select {
	case addrs := <-p.out.listening:
		_, p.sshPort, _ = net.SplitHostPort(addrs.SSH)
		p.httpAddr = addrs.HTTP
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("paasd exited before listening:\n%s", p.out.tail())
	case <-time.After(listenTimeout):
		p.kill()
		return nil, fmt.Errorf("paasd did not listen within %v:\n%s", listenTimeout, p.out.tail())
	}
}

// ssh runs a paasd command over SSH and returns its output.
func (p *paasd) ssh(ctx context.Context, command string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, sshTimeout)
	defer cancel()
	args := append(p.sshOptions(), "-p", p.sshPort, "paas@127.0.0.1", command)
	c := exec.CommandContext(ctx, "ssh", args...)
	c.WaitDelay = 5 * time.Second
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ssh %s: %w: %s", command, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// sshOptions are the ssh flags that log in with the bench key only.
func (p *paasd) sshOptions() []string {
	return []string{"-i", p.key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}
}

// gitSSHCommand is GIT_SSH_COMMAND for pushing to this paasd.
func (p *paasd) gitSSHCommand() string {
	return "ssh " + strings.Join(p.sshOptions(), " ")
}

// stop destroys app (when not empty) and stops paasd with SIGTERM,
// killing it when it does not exit in time.
func (p *paasd) stop(app string) error {
	var errs []error
	if app != "" {
		ctx, cancel := context.WithTimeout(context.Background(), sshTimeout)
		if _, err := p.ssh(ctx, "apps:destroy "+app+" --confirm "+app); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.kill()
		errs = append(errs, fmt.Errorf("paasd ignored SIGTERM for %v: killed", stopTimeout))
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleaning up: %v", errs)
	}
	return nil
}

func (p *paasd) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// listenAddrs is paasd's {"msg":"listening"} log record.
type listenAddrs struct {
	Msg  string `json:"msg"`
	SSH  string `json:"ssh"`
	HTTP string `json:"http"`
}

// logWatch takes paasd's output, reports its listening addresses once
// and keeps the last lines for error messages.
type logWatch struct {
	listening chan listenAddrs
	mu        sync.Mutex
	partial   []byte
	last      []string
	found     bool
}

func newLogWatch() *logWatch {
	return &logWatch{listening: make(chan listenAddrs, 1)}
}

// Write implements io.Writer.
func (w *logWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		w.last = append(w.last, line)
		if len(w.last) > 20 {
			w.last = w.last[1:]
		}
		var rec listenAddrs
		if !w.found && json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
			w.found = true
			w.listening <- rec
		}
	}
}

func (w *logWatch) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.last, "\n")
}
