// Package enginetest runs, for tests, Docker engines of a test's own
// next to the host's: each with its own data root, exec root, pid file,
// socket and cgroup parent, in a network namespace its caller made. The
// host's engine is never touched.
package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/client"
)

// Daemon is one private dockerd, in the network namespace NS.
type Daemon struct {
	// Dir holds its data root, exec root, socket and log.
	Dir string
	// NS is the network namespace it runs in (made and removed by the
	// caller).
	NS string
	// Host is its DOCKER_HOST value.
	Host string
	// Args are added to dockerd's command line, Env to its environment.
	Args, Env []string
	// OwnEtc, when set, runs dockerd in a mount namespace of its own in
	// which Dir/etc-docker is mounted over /etc/docker: its registry
	// certificates (certs.d/HOST:PORT/ca.crt, read there and nowhere
	// else) are then its own, see CertsDir.
	OwnEtc bool

	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
	// liveRestore tells whether the engine last ran with live-restore:
	// then its containers may outlive it.
	liveRestore bool
}

// Requirement returns why this host cannot run a Daemon ("" when it
// can): root, the ip, nsenter and unshare commands and dockerd are
// needed.
func Requirement() string {
	if os.Geteuid() != 0 {
		return "needs root: network namespaces and a Docker engine"
	}
	for _, tool := range []string{"ip", "nsenter", "unshare", "mount", "dockerd", "containerd", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "needs " + tool
		}
	}
	return ""
}

// New prepares a daemon under dir (a short path: the socket's must fit
// 108 bytes) in the namespace ns, without starting it.
func New(dir, ns string) (*Daemon, error) {
	d := &Daemon{Dir: dir, NS: ns, Host: "unix://" + filepath.Join(dir, "docker.sock")}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.CertsDir(), 0o755); err != nil {
		return nil, err
	}
	return d, nil
}

// CertsDir is the directory whose HOST:PORT/ca.crt the daemon trusts for
// the registry at HOST:PORT when OwnEtc is set.
func (d *Daemon) CertsDir() string {
	return filepath.Join(d.Dir, "etc-docker", "certs.d")
}

// Wrap is the command that runs another in the daemon's network
// namespace, nothing else changed (ip netns exec would mount a sysfs of
// its own, hiding the host's cgroups from dockerd).
func (d *Daemon) Wrap() []string {
	return []string{"nsenter", "--net=/run/netns/" + d.NS, "--"}
}

// Command runs name with args in the daemon's network namespace.
func (d *Daemon) Command(name string, args ...string) *exec.Cmd {
	w := d.Wrap()
	return exec.Command(w[0], append(append(w[1:], name), args...)...)
}

// Start starts dockerd, with --live-restore when liveRestore is set, and
// returns once it answers.
func (d *Daemon) Start(ctx context.Context, liveRestore bool) error {
	if d.cmd != nil {
		return errors.New("the engine runs already")
	}
	args := []string{
		"--data-root", filepath.Join(d.Dir, "data"),
		"--exec-root", filepath.Join(d.Dir, "exec"),
		"--pidfile", filepath.Join(d.Dir, "dockerd.pid"),
		"--config-file", filepath.Join(d.Dir, "daemon.json"),
		"-H", d.Host,
		"--cgroup-parent", filepath.Base(d.Dir),
		// The default bridge is of no use to paas.
		"--bridge", "none",
		// The namespace's firewall is left alone; published ports go
		// through the engine's own proxy.
		"--iptables=false", "--ip6tables=false", "--ip-masq=false",
	}
	if liveRestore {
		args = append(args, "--live-restore")
	}
	args = append(args, d.Args...)
	log, err := os.OpenFile(filepath.Join(d.Dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "=== dockerd %s\n", strings.Join(args, " "))
	var cmd *exec.Cmd
	if d.OwnEtc {
		// A mount namespace whose mounts do not reach the host's (the
		// engine's layer mounts stay in it and go with its last
		// process); /etc/docker is mounted over once dockerd runs,
		// before anything can pull.
		w := append([]string{"unshare", "--mount", "--propagation", "slave", "--"}, d.Wrap()...)
		cmd = exec.Command(w[0], append(append(w[1:], "dockerd"), args...)...)
	} else {
		cmd = d.Command("dockerd", args...)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if d.Env != nil {
		cmd.Env = append(os.Environ(), d.Env...)
	}
	// Its own process group: the test's signals go to it alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting dockerd: %w", err)
	}
	d.cmd, d.log, d.exited, d.liveRestore = cmd, log, make(chan struct{}), liveRestore
	go func(c chan struct{}) { cmd.Wait(); close(c) }(d.exited)
	if d.OwnEtc {
		if err := d.mountEtc(); err != nil {
			d.kill()
			return err
		}
	}
	return d.waitAnswers(ctx)
}

// mountEtc mounts Dir/etc-docker over /etc/docker in dockerd's mount
// namespace, once it has one: unshare makes it, then execs nsenter,
// which execs dockerd (the pid stays dockerd's). Until unshare has made
// it, the process is in the host's namespace, where nothing may be
// mounted: the mount waits for the namespace to differ from the test's.
func (d *Daemon) mountEtc() error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	nsPath := fmt.Sprintf("/proc/%d/ns/mnt", d.cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; {
		ns, err := os.Readlink(nsPath)
		if err != nil {
			return fmt.Errorf("dockerd's mount namespace: %w", err)
		}
		if ns != self {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("dockerd has no mount namespace of its own after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	out, err := exec.Command("nsenter", "--mount="+nsPath, "--",
		"mount", "--bind", filepath.Join(d.Dir, "etc-docker"), "/etc/docker").CombinedOutput()
	if err != nil {
		return fmt.Errorf("mounting the engine's own /etc/docker: %v: %s", err, out)
	}
	return nil
}

// kill kills dockerd and waits for it.
func (d *Daemon) kill() {
	d.cmd.Process.Kill()
	<-d.exited
	d.log.Close()
	d.cmd = nil
}

// waitAnswers waits for the engine to answer a ping.
func (d *Daemon) waitAnswers(ctx context.Context) error {
	cli, err := d.Client()
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
		case <-d.exited:
			return fmt.Errorf("dockerd exited at start: %s", d.LogTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd does not answer: %v: %s", err, d.LogTail())
		}
	}
}

// Running reports whether dockerd runs.
func (d *Daemon) Running() bool { return d.cmd != nil }

// Stop sends dockerd SIGTERM and waits for it to exit (with live-restore
// the containers keep running; without, the engine stops them first).
func (d *Daemon) Stop() error {
	if d.cmd == nil {
		return nil
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(90 * time.Second):
		d.kill()
		return errors.New("dockerd did not exit within 90s of SIGTERM")
	}
	d.cmd = nil
	d.log.Close()
	return nil
}

// Client returns a client of the engine.
func (d *Daemon) Client() (*client.Client, error) {
	return client.NewClientWithOpts(client.WithHost(d.Host), client.WithAPIVersionNegotiation())
}

// Docker returns the docker CLI talking to the engine.
func (d *Daemon) Docker(args ...string) *exec.Cmd {
	return exec.Command("docker", append([]string{"-H", d.Host}, args...)...)
}

// LoadImage copies image from the host's engine into this one through a
// saved archive kept at cache (made once, reused by later runs; see
// StackCache).
func (d *Daemon) LoadImage(ctx context.Context, image, cache string) error {
	if _, err := os.Stat(cache); err != nil {
		tmp := fmt.Sprintf("%s.%d.tmp", cache, os.Getpid())
		out, err := exec.CommandContext(ctx, "docker", "save", "-o", tmp, image).CombinedOutput()
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("docker save %s: %v: %s", image, err, out)
		}
		if err := os.Rename(tmp, cache); err != nil {
			return err
		}
	}
	cmd := d.Docker("load", "-q", "-i", cache)
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

// Close stops the engine (started first without live-restore when it
// last ran with, so that it stops the containers a live-restore stop
// left),
// kills what is left of its containers, and removes its directory. The
// namespace is its caller's to remove.
func (d *Daemon) Close() error {
	var errs []error
	if d.cmd == nil && d.liveRestore {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if err := d.Start(ctx, false); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	if d.cmd != nil {
		// Without live-restore, stopping stops its containers.
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(90 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
		d.log.Close()
		d.cmd = nil
	}
	d.killShims()
	// Overlay mounts of containers still running are gone with them;
	// what is left is plain files (in a mount namespace of its own,
	// nothing was mounted here).
	exec.Command("umount", "-R", filepath.Join(d.Dir, "exec")).Run()
	exec.Command("umount", "-R", filepath.Join(d.Dir, "data")).Run()
	if err := os.RemoveAll(d.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killShims kills what containers of a live-restore engine left running
// (their shims and processes, found by the engine's directory in their
// command lines), and waits until they are gone.
func (d *Daemon) killShims() {
	root := d.Dir + string(filepath.Separator)
	for range 50 {
		left := 0
		entries, _ := os.ReadDir("/proc")
		for _, ent := range entries {
			pid, err := strconv.Atoi(ent.Name())
			if err != nil || pid <= 1 {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
			if err != nil || !strings.Contains(string(b), root) {
				continue
			}
			syscall.Kill(pid, syscall.SIGKILL)
			left++
		}
		if left == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LogTail returns the end of dockerd's log.
func (d *Daemon) LogTail() string {
	f, err := os.Open(filepath.Join(d.Dir, "dockerd.log"))
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
