package faulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/client"
)

// Engine is a Docker engine of a fault test's own, never the host's: its
// own data root, exec root, pid file, socket and cgroup parent, in a
// network namespace of its own joined to the host by a veth pair (so its
// published ports and bridges clash with nothing). The test stops and
// starts it at will.
type Engine struct {
	// Dir holds its data root, exec root, socket and log.
	Dir string
	// NS is its network namespace; processes that talk to its published
	// ports (paasd) run there too, via Wrap or Command.
	NS string
	// HostIP and PeerIP are the addresses of the veth pair's host end
	// and namespace end: a server in the namespace that listens on
	// PeerIP is reached from the host there.
	HostIP, PeerIP string
	// Host is its DOCKER_HOST value.
	Host string

	hostIf string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

// Requirement returns why this host cannot run an Engine ("" when it
// can): root, the ip and nsenter commands and dockerd are needed.
func Requirement() string {
	if os.Geteuid() != 0 {
		return "needs root: network namespaces and a Docker engine"
	}
	for _, tool := range []string{"ip", "nsenter", "dockerd", "containerd", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "needs " + tool
		}
	}
	return ""
}

// NewEngine prepares an engine under dir (a short path: the socket's
// must fit 108 bytes) and its namespace, without starting it. Close
// removes the namespace.
func NewEngine(dir string) (*Engine, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := hex.EncodeToString(b[:])
	second, third, fourth := 18+b[0]&1, b[1], b[2]&^3
	e := &Engine{
		Dir:    dir,
		NS:     "paas-eng-" + id,
		hostIf: "eng-" + id,
		HostIP: fmt.Sprintf("198.%d.%d.%d", second, third, fourth+1),
		PeerIP: fmt.Sprintf("198.%d.%d.%d", second, third, fourth+2),
		Host:   "unix://" + filepath.Join(dir, "docker.sock"),
	}
	peerIf := "eth-" + id
	steps := [][]string{
		{"netns", "add", e.NS},
		{"link", "add", e.hostIf, "type", "veth", "peer", "name", peerIf, "netns", e.NS},
		{"addr", "add", e.HostIP + "/30", "dev", e.hostIf},
		{"link", "set", e.hostIf, "up"},
		{"-n", e.NS, "addr", "add", e.PeerIP + "/30", "dev", peerIf},
		{"-n", e.NS, "link", "set", peerIf, "up"},
		{"-n", e.NS, "link", "set", "lo", "up"},
		{"-n", e.NS, "route", "add", "default", "via", e.HostIP},
	}
	for _, args := range steps {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			e.Close()
			return nil, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Wrap is the command that runs another in the engine's network
// namespace, nothing else changed (ip netns exec would mount a sysfs of
// its own, hiding the host's cgroups from dockerd).
func (e *Engine) Wrap() []string {
	return []string{"nsenter", "--net=/run/netns/" + e.NS, "--"}
}

// Command runs name with args in the engine's namespace.
func (e *Engine) Command(name string, args ...string) *exec.Cmd {
	w := e.Wrap()
	return exec.Command(w[0], append(append(w[1:], name), args...)...)
}

// Start starts dockerd, with --live-restore when liveRestore is set, and
// returns once it answers.
func (e *Engine) Start(ctx context.Context, liveRestore bool) error {
	if e.cmd != nil {
		return errors.New("the engine runs already")
	}
	args := []string{
		"--data-root", filepath.Join(e.Dir, "data"),
		"--exec-root", filepath.Join(e.Dir, "exec"),
		"--pidfile", filepath.Join(e.Dir, "dockerd.pid"),
		"--config-file", filepath.Join(e.Dir, "daemon.json"),
		"-H", e.Host,
		"--cgroup-parent", filepath.Base(e.Dir),
		// Its namespace has no other engine, but the default bridge is
		// of no use to paas.
		"--bridge", "none",
		// The namespace's firewall is left alone; published ports go
		// through the engine's own proxy.
		"--iptables=false", "--ip6tables=false", "--ip-masq=false",
	}
	if liveRestore {
		args = append(args, "--live-restore")
	}
	log, err := os.OpenFile(filepath.Join(e.Dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "=== dockerd %s\n", strings.Join(args, " "))
	cmd := e.Command("dockerd", args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: the test's signals go to it alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting dockerd: %w", err)
	}
	e.cmd, e.log, e.exited = cmd, log, make(chan struct{})
	go func(c chan struct{}) { cmd.Wait(); close(c) }(e.exited)
	return e.waitAnswers(ctx)
}

// waitAnswers waits for the engine to answer a ping.
func (e *Engine) waitAnswers(ctx context.Context) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cli.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("dockerd exited at start: %s", e.LogTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd does not answer: %v: %s", err, e.LogTail())
		}
	}
}

// Stop sends dockerd SIGTERM and waits for it to exit (with live-restore
// the containers keep running; without, the engine stops them first).
func (e *Engine) Stop() error {
	if e.cmd == nil {
		return nil
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(90 * time.Second):
		e.cmd.Process.Kill()
		<-e.exited
		return errors.New("dockerd did not exit within 90s of SIGTERM")
	}
	e.cmd = nil
	e.log.Close()
	return nil
}

// Client returns a client of the engine.
func (e *Engine) Client() (*client.Client, error) {
	return client.NewClientWithOpts(client.WithHost(e.Host), client.WithAPIVersionNegotiation())
}

// Docker returns the docker CLI talking to the engine.
func (e *Engine) Docker(args ...string) *exec.Cmd {
	return exec.Command("docker", append([]string{"-H", e.Host}, args...)...)
}

// LoadImage copies image from the host's engine into this one through a
// saved archive kept at cache (made once, reused by later runs).
func (e *Engine) LoadImage(ctx context.Context, image, cache string) error {
	if _, err := os.Stat(cache); err != nil {
		tmp := cache + ".tmp"
		out, err := exec.CommandContext(ctx, "docker", "save", "-o", tmp, image).CombinedOutput()
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("docker save %s: %v: %s", image, err, out)
		}
		if err := os.Rename(tmp, cache); err != nil {
			return err
		}
	}
	cmd := e.Docker("load", "-q", "-i", cache)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker load into the test engine: %v: %s", err, out)
	}
	return nil
}

// StackCache is where LoadImage keeps the saved archive of the host
// engine's image: in the temp dir, named after the image's ID, so later
// runs reuse it until the image changes.
func StackCache(ctx context.Context, image string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", image).Output()
	if err != nil {
		return "", fmt.Errorf("inspecting %s on the host's engine: %w", image, err)
	}
	id := strings.TrimPrefix(strings.TrimSpace(string(out)), "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return filepath.Join(os.TempDir(), "paas-faulttest-stack-"+id+".tar"), nil
}

// Close stops the engine (started first without live-restore, when it
// has data, so that it stops the containers a live-restore stop left),
// and removes the namespace and its data.
func (e *Engine) Close() error {
	var errs []error
	if _, err := os.Stat(filepath.Join(e.Dir, "data")); err == nil && e.cmd == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if err := e.Start(ctx, false); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	if e.cmd != nil {
		// Without live-restore, stopping stops its containers.
		e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(90 * time.Second):
			e.cmd.Process.Kill()
			<-e.exited
		}
		e.log.Close()
		e.cmd = nil
	}
	e.killShims()
	if out, err := exec.Command("ip", "link", "del", e.hostIf).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find") {
		errs = append(errs, fmt.Errorf("ip link del: %v: %s", err, out))
	}
	if out, err := exec.Command("ip", "netns", "del", e.NS).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
		errs = append(errs, fmt.Errorf("ip netns del: %v: %s", err, out))
	}
	// Overlay mounts of containers still running are gone with them;
	// what is left is plain files.
	exec.Command("umount", "-R", filepath.Join(e.Dir, "exec")).Run()
	exec.Command("umount", "-R", filepath.Join(e.Dir, "data")).Run()
	if err := os.RemoveAll(e.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killShims kills what containers of a live-restore engine left running
// (their shims and processes, found by the engine's exec root in their
// command lines).
func (e *Engine) killShims() {
	root := filepath.Join(e.Dir, "exec")
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		pid := 0
		if _, err := fmt.Sscanf(ent.Name(), "%d", &pid); err != nil || pid <= 1 {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), root) {
			continue
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// LogTail returns the end of dockerd's log.
func (e *Engine) LogTail() string {
	f, err := os.Open(filepath.Join(e.Dir, "dockerd.log"))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
