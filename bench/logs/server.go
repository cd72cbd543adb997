package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is one paasd under measurement.
type server struct {
	cmd     *exec.Cmd
	dir     string
	key     string
	sshPort string
}

func startServer(paasd, dir, rt string) (*server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &server{dir: dir, key: filepath.Join(dir, "id_ed25519")}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", s.key).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	s.cmd = exec.Command(paasd)
	s.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"PAAS_DATA_DIR=" + filepath.Join(dir, "data"),
		"PAAS_SSH_ADDR=127.0.0.1:0", "PAAS_HTTP_ADDR=127.0.0.1:0", "PAAS_HTTPS_ADDR=",
		"PAAS_AUTHORIZED_KEYS=" + s.key + ".pub", "PAAS_LOG_FORMAT=json",
		"PAAS_STOP_TIMEOUT=2s", "PAAS_RUNTIME=" + rt, "PAAS_LOG_RETENTION=1g",
		"DOCKER_HOST=" + os.Getenv("DOCKER_HOST"),
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	s.cmd.Stderr = &stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "listening" {
			go io.Copy(io.Discard, stdout)
			_, s.sshPort, _ = net.SplitHostPort(fmt.Sprint(rec["ssh"]))
			return s, nil
		}
	}
	s.cmd.Wait()
	return nil, fmt.Errorf("paasd (%s) did not start: %s", rt, stderr.String())
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func (s *server) sshArgs(command string) []string {
	return []string{"-i", s.key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-p", s.sshPort, "paas@127.0.0.1", command}
}

// ssh runs one command and returns its output.
func (s *server) ssh(command string) (string, error) {
	out, err := exec.Command("ssh", s.sshArgs(command)...).Output()
	if err != nil {
		return string(out), fmt.Errorf("ssh %s: %v", command, err)
	}
	return string(out), nil
}

// git runs git in dir with the server's key.
func (s *server) git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_SSH_COMMAND=ssh -i "+s.key+" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
		"GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.com", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %v: %v\n%s", args, err, out)
	}
	return nil
}

// usage is paasd's CPU time and memory at one moment.
type usage struct {
	cpu      time.Duration // user + system
	rss, hwm int64         // bytes
}

// procUsage reads /proc for pid.
func procUsage(pid int) usage {
	var u usage
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+2:])
			if len(f) > 12 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				u.cpu = time.Duration(ut+st) * time.Second / 100
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, ln := range strings.Split(string(b), "\n") {
			f := strings.Fields(ln)
			if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				if f[0] == "VmRSS:" {
					u.rss = kb << 10
				} else {
					u.hwm = kb << 10
				}
			}
		}
	}
	return u
}
