package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"paas/bench/internal/paasd"
	"paas/internal/lossyfs"
)

// powerRounds is how many power cuts the power-loss fault makes.
const powerRounds = 10

func init() { register("power-loss", runPowerLoss) }

// runPowerLoss cuts the power of paasd's machine at random points of a
// loop of writes (config:set, domains:add, pushes): paasd's data dir is on
// a FUSE layer that drops, on a crash, every write not fsynced (see
// internal/lossyfs). After each cut paasd starts again on what is left;
// recovery is the time from the cut until the app answers again, and every
// write paasd acknowledged before the cut is looked for.
func runPowerLoss(ctx context.Context, ws *paasd.Workspace) ([]outcome, error) {
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Geteuid() != 0 {
		return []outcome{{Note: "skipped: needs FUSE (/dev/fuse) and root"}}, nil
	}
	dir := filepath.Join(ws.Root, "power")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, err
	}
	l, err := lossyfs.Mount(filepath.Join(dir, "lossy"), filepath.Join(dir, "data"))
	if err != nil {
		return nil, err
	}
	defer func() {
		l.KillUsers(30 * time.Second)
		l.Close()
	}()
	env := []string{"PAAS_DOMAIN=localhost"}
	s, err := paasd.Start(paasd.Config{Binary: ws.Binary, Dir: dir, Runtime: "exec", Env: env})
	if err != nil {
		return nil, err
	}
	// Later starts keep the SSH port: the repo's remote names it.
	env = append(env, "PAAS_SSH_ADDR=127.0.0.1:"+s.SSHPort, "PAAS_HTTP_ADDR="+s.HTTPAddr)
	const app = "powercut"
	repo, err := s.NewRepo(ctx, app, os.DirFS(filepath.Join("e2e/testdata/apps", "static")))
	if err != nil {
		return nil, err
	}
	if _, err := repo.Push(ctx, 0); err != nil {
		return nil, err
	}
	config := map[string]string{}
	var domains []string
	pushed, err := gitOut(repo.Dir, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	var o outcome
	var recovery time.Duration
	n := 0
	for range powerRounds {
		// Writes, one after the other, until the power goes at a
		// random moment: most often in the middle of one.
		stop := make(chan struct{})
		werr := make(chan error, 1)
		go func() {
			for {
				select {
				case <-stop:
					werr <- nil
					return
				default:
				}
				n++
				switch n % 3 {
				case 0:
					k, v := fmt.Sprintf("K%d", n), fmt.Sprintf("v%d", n)
					if _, err := s.SSH(ctx, "config:set "+app+" "+k+"="+v); err == nil {
						config[k] = v
						o.Acked++
					}
				case 1:
					host := fmt.Sprintf("d%d.powercut.test", n)
					if _, err := s.SSH(ctx, "domains:add "+app+" "+host); err == nil {
						domains = append(domains, host)
						o.Acked++
					}
				case 2:
					// A push cut by the power leaves the local commit ahead;
					// the next one carries it.
					if _, err := repo.Push(ctx, n); err == nil {
						if pushed, err = gitOut(repo.Dir, "rev-parse", "HEAD"); err != nil {
							werr <- err
							return
						}
						o.Acked++
					}
				}
			}
		}()
		time.Sleep(time.Duration(randN(2500)) * time.Millisecond)
		killErr := l.KillUsers(30 * time.Second)
		close(stop)
		if err := <-werr; err != nil {
			return nil, err
		}
		if killErr != nil {
			return nil, killErr
		}
		start := time.Now()
		if err := l.Crash(); err != nil {
			return nil, err
		}
		if s, err = paasd.Start(paasd.Config{Binary: ws.Binary, Dir: dir, Runtime: "exec", Env: env}); err != nil {
			return nil, fmt.Errorf("paasd after a power cut: %w", err)
		}
		if err := waitAnswer(ctx, s.HTTPAddr, app+".localhost", time.Minute); err != nil {
			return nil, fmt.Errorf("after a power cut: %w", err)
		}
		recovery = max(recovery, time.Since(start))
		out, err := s.SSH(ctx, "config "+app)
		if err != nil {
			return nil, err
		}
		for k, v := range config {
			if !strings.Contains("\n"+out, "\n"+k+"="+v+"\n") {
				o.Lost++
				delete(config, k)
			}
		}
		out, err = s.SSH(ctx, "domains "+app)
		if err != nil {
			return nil, err
		}
		kept := domains[:0]
		for _, d := range domains {
			if strings.Contains(out, d) {
				kept = append(kept, d)
			} else {
				o.Lost++
			}
		}
		domains = kept
		// The server's branch holds the last acknowledged push.
		if _, err := gitOut("", "--git-dir", filepath.Join(dir, "data", "repos", app+".git"), "merge-base", "--is-ancestor", pushed, "main"); err != nil {
			o.Lost++
		}
	}
	_, crashes := l.Stats()
	o.Recovery = recovery
	if o.Note == "" {
		o.Note = fmt.Sprintf("%d power cuts during %d writes (exec runtime); recovery is the slowest", crashes, n)
	}
	return []outcome{o}, s.Stop()
}

// waitAnswer polls host through the router until it answers 200.
func waitAnswer(ctx context.Context, addr, host string, limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	last := "no answer"
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
		if err != nil {
			return err
		}
		req.Host = host
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within %v (last: %s)", host, limit, last)
}

// gitOut runs git in dir and returns its trimmed output.
func gitOut(dir string, args ...string) (string, error) {
	c := exec.Command("git", args...)
	c.Dir = dir
	out, err := c.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

func randN(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		panic(err)
	}
	return v.Int64()
}
