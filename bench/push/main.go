// Command push measures the push-to-serving path of paasd: it starts paasd
// on loopback ports with a fresh data dir, pushes the Python test app five
// times (each a changed commit) and reports the time from `git push` start
// to the new release answering through the router. It then reports the p50
// of `ssh … apps` round trips next to `ssh localhost true` against the
// machine's own OpenSSH server when one answers on port 22 (the floor for a
// command over a fresh SSH connection). It prints a table and writes it to
// bench/results/push.txt.
//
//	go run ./bench/push [-pushes 5] [-ssh 30]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	pushes := flag.Int("pushes", 5, "number of pushes")
	sshRuns := flag.Int("ssh", 30, "number of ssh round trips for each p50")
	flag.Parse()
	if err := run(*pushes, *sshRuns); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(pushes, sshRuns int) error {
	root, err := os.MkdirTemp("", "paas-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	paasd := filepath.Join(root, "paasd")
	if out, err := exec.Command("go", "build", "-o", paasd, "./cmd/paasd").CombinedOutput(); err != nil {
		return fmt.Errorf("building paasd: %v\n%s", err, out)
	}
	key := filepath.Join(root, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	srv := exec.Command(paasd)
	srv.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + root,
		"PAAS_DATA_DIR=" + filepath.Join(root, "data"),
		"PAAS_SSH_ADDR=127.0.0.1:0", "PAAS_HTTP_ADDR=127.0.0.1:0",
		"PAAS_AUTHORIZED_KEYS=" + key + ".pub", "PAAS_LOG_FORMAT=json",
		"PAAS_STOP_TIMEOUT=5s",
	}
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()
	sshAddr, httpAddr, err := waitListening(stdout)
	if err != nil {
		return err
	}
	_, sshPort, _ := net.SplitHostPort(sshAddr)
	sshCmd := "ssh -i " + key + " -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"

	app := filepath.Join(root, "app")
	if err := os.CopyFS(app, os.DirFS("e2e/testdata/apps/python")); err != nil {
		return err
	}
	env := append(os.Environ(), "GIT_SSH_COMMAND="+sshCmd,
		"GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.com", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@example.com")
	git := func(args ...string) error {
		c := exec.Command("git", args...)
		c.Dir, c.Env = app, env
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v\n%s", args, err, out)
		}
		return nil
	}
	if err := git("init", "-q", "-b", "main"); err != nil {
		return err
	}
	if err := git("remote", "add", "paas", "ssh://paas@127.0.0.1:"+sshPort+"/bench"); err != nil {
		return err
	}

	var table bytes.Buffer
	w := io.MultiWriter(os.Stdout, &table)
	fmt.Fprintf(w, "push to serving, Python stdlib app, exec runtime\n")
	fmt.Fprintf(w, "%-6s %-8s %12s %12s\n", "push", "kind", "push done", "live")
	var warm []time.Duration
	for i := 1; i <= pushes; i++ {
		marker := fmt.Sprintf("bench%d", i)
		data, _ := os.ReadFile(filepath.Join(app, "app.py"))
		data = []byte(strings.Replace(string(data), `VERSION = "one"`, `VERSION = "`+marker+`"`, 1))
		if i > 1 {
			data = []byte(strings.Replace(string(data), fmt.Sprintf(`VERSION = "bench%d"`, i-1), `VERSION = "`+marker+`"`, 1))
		}
		if err := os.WriteFile(filepath.Join(app, "app.py"), data, 0o644); err != nil {
			return err
		}
		if err := git("add", "-A"); err != nil {
			return err
		}
		if err := git("commit", "-q", "-m", marker); err != nil {
			return err
		}
		start := time.Now()
		if err := git("push", "-q", "paas", "main"); err != nil {
			return err
		}
		pushed := time.Since(start)
		if err := waitServing(httpAddr, "bench", marker, 60*time.Second); err != nil {
			return err
		}
		live := time.Since(start)
		kind := "cold"
		if i > 1 {
			kind = "warm"
			warm = append(warm, live)
		}
		fmt.Fprintf(w, "%-6d %-8s %12s %12s\n", i, kind, pushed.Round(time.Millisecond), live.Round(time.Millisecond))
	}
	if len(warm) > 0 {
		fmt.Fprintf(w, "warm redeploy p50: %s (target < 2s)\n", p50(warm).Round(time.Millisecond))
	}

	fmt.Fprintf(w, "\nSSH command round trip, fresh connection each, p50 of %d\n", sshRuns)
	fmt.Fprintf(w, "%-34s %10s\n", "command", "p50")
	args := append(strings.Fields(sshCmd)[1:], "-p", sshPort, "paas@127.0.0.1", "apps")
	paasP50, err := timeRuns(sshRuns, "ssh", args...)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-34s %10s\n", "ssh paas@paasd apps", paasP50.Round(100*time.Microsecond))
	if c, err := net.DialTimeout("tcp", "127.0.0.1:22", time.Second); err == nil {
		c.Close()
		floor, err := timeRuns(sshRuns, "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "localhost", "true")
		if err != nil {
			fmt.Fprintf(w, "%-34s %10s (%v)\n", "ssh localhost true (OpenSSH)", "failed", err)
		} else {
			fmt.Fprintf(w, "%-34s %10s\n", "ssh localhost true (OpenSSH)", floor.Round(100*time.Microsecond))
			fmt.Fprintf(w, "ratio apps/floor: %.2f (target <= 1.2)\n", float64(paasP50)/float64(floor))
		}
	} else {
		fmt.Fprintf(w, "no OpenSSH server on 127.0.0.1:22: floor not measured\n")
	}
	if err := os.MkdirAll("bench/results", 0o755); err == nil {
		os.WriteFile("bench/results/push.txt", table.Bytes(), 0o644)
	}
	return nil
}

func waitListening(r io.Reader) (ssh, http string, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "listening" {
			go io.Copy(io.Discard, r)
			return fmt.Sprint(rec["ssh"]), fmt.Sprint(rec["http"]), nil
		}
	}
	return "", "", fmt.Errorf("paasd exited before listening")
}

// waitServing polls the app through the router until the body has marker.
func waitServing(addr, app, marker string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://"+addr+"/", nil)
		req.Host = app + ".localhost"
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && bytes.Contains(body, []byte(marker)) {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s never served %s", app, marker)
}

func timeRuns(n int, name string, args ...string) (time.Duration, error) {
	var ds []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%s: %v: %s", name, err, out)
		}
		ds = append(ds, time.Since(start))
	}
	return p50(ds), nil
}

func p50(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
