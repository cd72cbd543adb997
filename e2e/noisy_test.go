package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"paas/internal/faultapps"
)

// One app misbehaving on purpose, next to a calm one: a fork bomb, a
// memory hog, a log flood and a flood of connections to the router. None
// may take the calm app or paasd down: the calm app answers every request
// of a poller (each within neighbourTimeout), its instance is the same
// one throughout, and paasd answers `apps`.

// neighbourTimeout is how long one request to the calm app may take;
// appsTimeout how long paasd may take to answer `apps` (it takes well
// under a second on an idle host).
const (
	neighbourTimeout = 10 * time.Second
	appsTimeout      = 20 * time.Second
)

// noisyPair starts paasd on rt with env and pushes the calm app and the
// noisy one running attack; it returns the server and both apps' names
// and directories.
func noisyPair(t *testing.T, rt, attack string, env ...string) (s *server, calm, noisy, calmDir, noisyDir string) {
	t.Helper()
	s = startServer(t, append([]string{"PAAS_RUNTIME=" + rt}, env...)...)
	calm, noisy = "noisy-calm-"+attack, "noisy-"+attack
	calmDir = s.newRepoOf(calm, map[string]string{"Procfile": "web: python3 server.py " + calm + "\n", "server.py": faultapps.Calm})
	requireOK(t, "push "+calm, s.push(calmDir, "paas", "main"))
	noisyDir = s.newRepoOf(noisy, map[string]string{"Procfile": "web: python3 server.py " + attack + "\n", "server.py": faultapps.Noisy})
	requireOK(t, "push "+noisy, s.push(noisyDir, "paas", "main"))
	return s, calm, noisy, calmDir, noisyDir
}

// neighbourStats is what a neighbour poller saw.
type neighbourStats struct {
	requests, failed int
	tokens           []string // the calm app's start tokens, in order seen
	errors           []string // the first few failures
	p99              time.Duration
	marks            []string // marks of the requests answered
}

// pollNeighbour polls app through the router from a new connection per
// request (as many separate visitors would) until stop is called, which
// returns what it saw. Each request's path is /mark-N.
func pollNeighbour(s *server, app string) (stop func() neighbourStats) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan neighbourStats, 1)
	go func() {
		var st neighbourStats
		var lat []time.Duration
		client := &http.Client{Timeout: neighbourTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
		for i := 0; ctx.Err() == nil; i++ {
			mark := fmt.Sprintf("mark-%d", i)
			req, _ := http.NewRequest("GET", "http://"+s.httpAddr+"/"+mark, nil)
			req.Host = app + ".localhost"
			began := time.Now()
			resp, err := client.Do(req)
			st.requests++
			fail := func(why string) {
				st.failed++
				if len(st.errors) < 5 {
					st.errors = append(st.errors, why)
				}
			}
			if err != nil {
				fail(err.Error())
			} else {
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				name, token, _ := strings.Cut(strings.TrimSpace(string(body)), " ")
				switch {
				case err != nil:
					fail(err.Error())
				case resp.StatusCode != 200 || name != app:
					fail(fmt.Sprintf("%d %q", resp.StatusCode, body))
				default:
					lat = append(lat, time.Since(began))
					st.marks = append(st.marks, mark)
					if len(st.tokens) == 0 || st.tokens[len(st.tokens)-1] != token {
						st.tokens = append(st.tokens, token)
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		slices.Sort(lat)
		if len(lat) > 0 {
			st.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
		}
		done <- st
	}()
	return func() neighbourStats {
		cancel()
		return <-done
	}
}

// requireUntouched fails unless the calm app answered every one of at
// least a few requests, from one instance throughout.
func requireUntouched(t *testing.T, attack string, st neighbourStats) {
	t.Helper()
	t.Logf("%s: neighbour answered %d of %d requests, p99 %v", attack, st.requests-st.failed, st.requests, st.p99)
	if st.failed > 0 {
		t.Errorf("%s: %d of the neighbour's %d requests failed: %q", attack, st.failed, st.requests, st.errors)
	}
	if st.requests < 10 {
		t.Errorf("%s: only %d requests reached the neighbour", attack, st.requests)
	}
	if len(st.tokens) > 1 {
		t.Errorf("%s: the neighbour restarted during the attack (start tokens %q)", attack, st.tokens)
	}
}

// requireResponsive runs `apps` over SSH and requires it to succeed and
// list app within appsTimeout.
func requireResponsive(t *testing.T, s *server, attack, app string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), appsTimeout)
	defer cancel()
	args := append(strings.Fields(s.sshCommand())[1:], "-p", s.port(), "paas@127.0.0.1", "apps")
	began := time.Now()
	out, err := exec.CommandContext(ctx, "ssh", args...).CombinedOutput()
	t.Logf("%s: paasd answered apps in %v", attack, time.Since(began).Round(time.Millisecond))
	if err != nil || !strings.Contains(string(out), app) {
		t.Fatalf("%s: apps during the attack: %v\n%s", attack, err, out)
	}
}

// waitUntil polls cond every 200ms until it holds or limit passes, then
// fails with what.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// counters reads the noisy app's forked= and refused= counters.
func counters(s *server, app string) (forked, refused int, ok bool) {
	req, _ := http.NewRequest("GET", "http://"+s.httpAddr+"/", nil)
	req.Host = app + ".localhost"
	resp, err := (&http.Client{Timeout: neighbourTimeout}).Do(req)
	if err != nil {
		return 0, 0, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	_, err = fmt.Sscanf(string(body), "forked=%d refused=%d", &forked, &refused)
	return forked, refused, err == nil && resp.StatusCode == 200
}

// TestNoisyForkBomb: an app forks until the kernel refuses. Its processes
// stop at its cap (docker: the container's pids limit; exec: the app
// user's process cap), and the neighbour and paasd go on.
func TestNoisyForkBomb(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s, calm, noisy, _, _ := noisyPair(t, rt, "forkbomb")
		stop := pollNeighbour(s, calm)
		forked := 0
		waitUntil(t, 2*time.Minute, "the fork bomb reaching its cap", func() bool {
			f, refused, ok := counters(s, noisy)
			forked = f
			if ok && f >= 3000 {
				t.Fatalf("the fork bomb made %d processes and was never refused", f)
			}
			return ok && refused > 0
		})
		time.Sleep(10 * time.Second) // the neighbour is polled while the bomb's processes spin
		requireResponsive(t, s, "fork bomb", calm)
		st := stop()
		requireUntouched(t, "fork bomb ("+rt+")", st)
		t.Logf("fork bomb (%s): refused after %d processes", rt, forked)
		limit := 512 // runtime.DefaultPidsLimit, threads included
		if rt == "exec" {
			limit = 1024 // runtime.DefaultExecProcs
		}
		if forked >= limit {
			t.Errorf("the fork bomb made %d processes; its cap is %d", forked, limit)
		}
	})
}

// TestNoisyMemoryHog: an app allocates memory until it is stopped. It is
// stopped at its limit (docker: the container's memory limit, the kernel
// kills it; exec: the per-process cap, its allocation fails) and started
// again, and the neighbour and paasd go on.
func TestNoisyMemoryHog(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s, calm, noisy, _, noisyDir := noisyPair(t, rt, "memory", "PAAS_DEFAULT_MEMORY=256m")
		stop := pollNeighbour(s, calm)
		heldRe := regexp.MustCompile(`held (\d+) MB`)
		var logs string
		waitUntil(t, 3*time.Minute, "the memory hog stopped and started again", func() bool {
			r := s.paas(noisyDir, "", "logs", "-n", "2000")
			logs = r.stdout
			if strings.Contains(logs, "hog holds 2048 MB") {
				t.Fatalf("%s held 2048 MB under a 256 MB limit:\n%s", noisy, tailLines(logs, 20))
			}
			return strings.Count(logs, "hog started") >= 2
		})
		requireResponsive(t, s, "memory hog", calm)
		time.Sleep(5 * time.Second)
		st := stop()
		requireUntouched(t, "memory hog ("+rt+")", st)
		most := 0
		for _, m := range heldRe.FindAllStringSubmatch(logs, -1) {
			most = max(most, atoi(m[1]))
		}
		t.Logf("memory hog (%s): held at most %d MB before it was stopped", rt, most)
		if most > 256 {
			t.Errorf("%s held %d MB under a 256 MB limit", noisy, most)
		}
	})
}

// TestNoisyLogFlood: an app writes log lines as fast as it can. The
// neighbour's `logs -t` still shows each of its lines, the flooder's
// history stays within PAAS_LOG_RETENTION on disk, and paasd's memory
// stays bounded.
func TestNoisyLogFlood(t *testing.T) {
	const retention = 1 << 20
	s, calm, noisy, calmDir, _ := noisyPair(t, "exec", "logflood", "PAAS_LOG_RETENTION=1m")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var tailOut lockedBuffer
	tail := exec.CommandContext(ctx, filepath.Join(binDir, "paas"), "logs", "-t", "-n", "0")
	tail.Dir, tail.Env, tail.Stdout = calmDir, s.env(), &tailOut
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); tail.Wait() }()
	// paasd's resident memory, sampled through the flood.
	var rssMu sync.Mutex
	peak := 0
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		for ctx.Err() == nil {
			if kb := rssKB(s.cmd.Process.Pid); kb > 0 {
				rssMu.Lock()
				peak = max(peak, kb)
				rssMu.Unlock()
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	// The live log follows from the moment its client is connected: a
	// request the neighbour logs shows when.
	waitUntil(t, time.Minute, "the neighbour's logs -t following", func() bool {
		s.get(calm, "/mark-ready")
		return strings.Contains(tailOut.String(), " mark-ready\n")
	})
	stop := pollNeighbour(s, calm)
	time.Sleep(10 * time.Second)
	requireResponsive(t, s, "log flood", calm)
	st := stop()
	requireUntouched(t, "log flood", st)
	if len(st.marks) == 0 {
		t.FailNow()
	}
	// Every answered request's line reaches the neighbour's live log.
	waitUntil(t, time.Minute, "the neighbour's lines in its logs -t", func() bool {
		return strings.Contains(tailOut.String(), st.marks[len(st.marks)-1]+"\n")
	})
	got := tailOut.String()
	var missing []string
	for _, m := range st.marks {
		if !strings.Contains(got, " "+m+"\n") {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of the neighbour's %d lines are missing from its logs -t: %q", len(missing), len(st.marks), missing[:min(len(missing), 10)])
	}
	if strings.Contains(got, "flood xxx") {
		t.Errorf("the flooder's lines reached the neighbour's logs -t")
	}
	cancel()
	<-sampling
	t.Logf("log flood: paasd's resident memory peaked at %d MB", peak/1024)
	if peak > 512<<10 {
		t.Errorf("paasd's resident memory reached %d MB under the log flood", peak/1024)
	}
	size := dirSize(t, filepath.Join(s.dataDir, "logs", noisy))
	t.Logf("log flood: the flooder's history takes %d KB on disk", size>>10)
	if size > 2*retention {
		t.Errorf("the flooder's history takes %d bytes on disk, retention %d", size, retention)
	}
}

// TestNoisyConnectionFlood: clients of an app open thousands of
// connections to the router from one address and keep them open. The
// router closes those over the per-client cap, so paasd keeps file
// descriptors for the neighbour's visitors and its own SSH clients.
func TestNoisyConnectionFlood(t *testing.T) {
	s, calm, noisy, _, _ := noisyPair(t, "exec", "nothing")
	// A host whose file limit a flood can reach: paasd may hold 4096.
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(s.cmd.Process.Pid), "--nofile=4096").CombinedOutput(); err != nil {
		t.Fatalf("prlimit (util-linux) lowering paasd's file limit: %v %s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var flood sync.WaitGroup
	const conns = 5000
	for range conns {
		flood.Go(func() { faultapps.Hold(ctx, s.httpAddr, noisy) })
	}
	defer func() { cancel(); flood.Wait() }()
	time.Sleep(5 * time.Second) // the flood builds up
	stop := pollNeighbour(s, calm)
	time.Sleep(5 * time.Second)
	requireResponsive(t, s, "connection flood", calm)
	time.Sleep(5 * time.Second)
	st := stop()
	requireUntouched(t, "connection flood", st)
}

// lockedBuffer is a bytes buffer safe for one writer and many readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rssKB is the resident memory of process pid in KB, 0 when unknown.
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return atoi(f[0])
			}
		}
	}
	return 0
}

// dirSize is the size of the files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a segment retention removed since it was listed
			}
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
