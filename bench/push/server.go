package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is one paasd under measurement.
type server struct {
	cmd      *exec.Cmd
	dir      string
	key      string
	sshPort  string
	httpAddr string
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
		"PAAS_SSH_ADDR=127.0.0.1:0", "PAAS_HTTP_ADDR=127.0.0.1:0",
		"PAAS_AUTHORIZED_KEYS=" + s.key + ".pub", "PAAS_LOG_FORMAT=json",
		"PAAS_STOP_TIMEOUT=5s", "PAAS_RUNTIME=" + rt,
		"GOPROXY=" + os.Getenv("GOPROXY"), "GOFLAGS=" + os.Getenv("GOFLAGS"),
		"DOCKER_HOST=" + os.Getenv("DOCKER_HOST"),
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	s.cmd.Stderr = &stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "listening" {
			go io.Copy(io.Discard, stdout)
			_, s.sshPort, _ = net.SplitHostPort(fmt.Sprint(rec["ssh"]))
			s.httpAddr = fmt.Sprint(rec["http"])
			return s, nil
		}
	}
	s.cmd.Wait()
	return nil, fmt.Errorf("paasd exited before listening: %s", strings.TrimSpace(stderr.String()))
}

func (s *server) stop() {
	for _, app := range strings.Fields(s.ssh("apps")) {
		s.ssh("apps:destroy " + app + " --confirm " + app)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

func (s *server) sshCommand() string {
	return "ssh -i " + s.key + " -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
}

func (s *server) sshArgs(command string) []string {
	return append(strings.Fields(s.sshCommand())[1:], "-p", s.sshPort, "paas@127.0.0.1", command)
}

func (s *server) ssh(command string) string {
	out, _ := exec.Command("ssh", s.sshArgs(command)...).Output()
	return string(out)
}

type appResult struct {
	cold   time.Duration
	warm   []time.Duration
	config []time.Duration
}

// measureApp pushes the test app pushes times and changes its config
// three times, timing each until the new release serves.
func (s *server) measureApp(app string, pushes int) (appResult, error) {
	var res appResult
	dir := filepath.Join(s.dir, "src-"+app)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("e2e/testdata/apps", app))); err != nil {
		return res, err
	}
	env := append(os.Environ(), "GIT_SSH_COMMAND="+s.sshCommand(),
		"GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.com", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@example.com")
	git := func(args ...string) error {
		c := exec.Command("git", args...)
		c.Dir, c.Env = dir, env
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v\n%s", args, err, out)
		}
		return nil
	}
	name := "bench-" + app
	if err := git("init", "-q", "-b", "main"); err != nil {
		return res, err
	}
	if err := git("remote", "add", "paas", "ssh://paas@127.0.0.1:"+s.sshPort+"/"+name); err != nil {
		return res, err
	}
	release := 0
	for i := 1; i <= pushes; i++ {
		if err := os.WriteFile(filepath.Join(dir, "bench.txt"), fmt.Appendf(nil, "%d\n", i), 0o644); err != nil {
			return res, err
		}
		if err := git("add", "-A"); err != nil {
			return res, err
		}
		if err := git("commit", "-q", "-m", fmt.Sprint(i)); err != nil {
			return res, err
		}
		start := time.Now()
		if err := git("push", "-q", "paas", "main"); err != nil {
			return res, err
		}
		release++
		if err := s.waitRelease(name, release, 5*time.Minute); err != nil {
			return res, err
		}
		if i == 1 {
			res.cold = time.Since(start)
		} else {
			res.warm = append(res.warm, time.Since(start))
		}
	}
	for i := 0; i < 3; i++ {
		start := time.Now()
		if out, err := exec.Command("ssh", s.sshArgs(fmt.Sprintf("config:set %s BENCH=%d", name, i))...).CombinedOutput(); err != nil {
			return res, fmt.Errorf("config:set: %v: %s", err, out)
		}
		release++
		if err := s.waitRelease(name, release, time.Minute); err != nil {
			return res, err
		}
		res.config = append(res.config, time.Since(start))
	}
	return res, nil
}

// waitRelease polls the app through the router until release vN answers.
func (s *server) waitRelease(app string, v int, limit time.Duration) error {
	want := []byte(fmt.Sprintf(" v%d\n", v))
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", "http://"+s.httpAddr+"/", nil)
		req.Host = app + ".localhost"
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && bytes.HasSuffix(body, want) {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s never served v%d", app, v)
}
