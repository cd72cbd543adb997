package paasd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

const (
	listenTimeout = time.Minute // start to the listening record
	stopTimeout   = time.Minute // SIGTERM to exit, before SIGKILL
)

// passedEnv are the variables of the benchmark's own environment that
// paasd gets too, when they are set.
var passedEnv = []string{"DOCKER_HOST", "PAAS_STACK_IMAGE", "GOPROXY", "GOFLAGS"}

// Config says which paasd to start and how.
type Config struct {
	Binary  string   // the paasd executable
	Dir     string   // made when missing; holds the key (kept when there), HOME and the data dir
	Runtime string   // PAAS_RUNTIME: exec or docker
	Env     []string // more KEY=VALUE settings; they win over the defaults
}

// Server is one running paasd with a fresh data dir and an admin key of
// its own.
type Server struct {
	Dir      string // Config.Dir
	Key      string // private key file of the admin key
	SSHPort  string // the SSH gateway's port on 127.0.0.1
	HTTPAddr string // the router's HTTP address, host:port

	cmd    *exec.Cmd
	out    *logWatch
	exited chan struct{}
}

// Start runs paasd on loopback ports chosen by the kernel, without an
// HTTPS listener, and returns once its JSON log says where it listens.
func Start(cfg Config) (*Server, error) {
	// Passable by others, not listable: a root paasd's apps run as users
	// of their own, who must reach their slugs below the data dir.
	if err := os.MkdirAll(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("making %s: %w", cfg.Dir, err)
	}
	if err := os.Chmod(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("opening %s to apps: %w", cfg.Dir, err)
	}
	s := &Server{Dir: cfg.Dir, Key: filepath.Join(cfg.Dir, "id_ed25519"), out: newLogWatch(), exited: make(chan struct{})}
	if _, err := os.Stat(s.Key); errors.Is(err, fs.ErrNotExist) {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", s.Key).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("generating a key: %w: %s", err, out)
		}
	}
	// No HTTPS listener: benchmarks never contend for :8443.
	s.cmd = exec.Command(cfg.Binary)
	s.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + cfg.Dir,
		"PAAS_DATA_DIR=" + filepath.Join(cfg.Dir, "data"),
		"PAAS_SSH_ADDR=127.0.0.1:0",
		"PAAS_HTTP_ADDR=127.0.0.1:0",
		"PAAS_HTTPS_ADDR=off",
		"PAAS_AUTHORIZED_KEYS=" + s.Key + ".pub",
		"PAAS_LOG_FORMAT=json",
		"PAAS_RUNTIME=" + cfg.Runtime,
		"PAAS_STOP_TIMEOUT=10s",
	}
	for _, name := range passedEnv {
		if v, ok := os.LookupEnv(name); ok {
			s.cmd.Env = append(s.cmd.Env, name+"="+v)
		}
	}
	s.cmd.Env = append(s.cmd.Env, cfg.Env...)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting paasd: %w", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case addrs := <-s.out.listening:
		if addrs.HTTPS != "" {
			s.kill()
			return nil, fmt.Errorf("paasd listens for HTTPS on %s; a benchmark's paasd must not", addrs.HTTPS)
		}
		_, s.SSHPort, _ = net.SplitHostPort(addrs.SSH)
		s.HTTPAddr = addrs.HTTP
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("paasd (%s) exited before listening:\n%s", cfg.Runtime, s.out.tail())
	case <-time.After(listenTimeout):
		s.kill()
		return nil, fmt.Errorf("paasd (%s) did not listen within %v:\n%s", cfg.Runtime, listenTimeout, s.out.tail())
	}
}

// Pid is paasd's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Tail is paasd's last lines of output, for error messages.
func (s *Server) Tail() string { return s.out.tail() }

// Stop destroys every app, then stops paasd with SIGTERM, killing it
// when it does not exit in time. It reports what did not go cleanly.
func (s *Server) Stop() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), sshTimeout)
	defer cancel()
	// The JSON listing: the text one has a header and columns.
	out, err := s.SSH(ctx, "apps --json")
	if err != nil {
		errs = append(errs, err)
	}
	var apps []struct{ Name string }
	if err == nil {
		if err := json.Unmarshal([]byte(out), &apps); err != nil {
			errs = append(errs, fmt.Errorf("reading apps --json: %w", err))
		}
	}
	for _, a := range apps {
		app := a.Name
		if _, err := s.SSH(ctx, "apps:destroy "+app+" --confirm "+app); err != nil {
			errs = append(errs, err)
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.kill()
		errs = append(errs, fmt.Errorf("paasd ignored SIGTERM for %v: killed", stopTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stopping paasd: %w", err)
	}
	return nil
}

func (s *Server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}
