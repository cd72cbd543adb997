package enginetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOwnEtc: a daemon with OwnEtc sees its own directory at
// /etc/docker (where it reads registry certificates), the host's stays
// as it was, and Close leaves no mount, process or directory behind.
func TestOwnEtc(t *testing.T) {
	if why := Requirement(); why != "" {
		t.Skip(why)
	}
	ns := "paas-ent-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	dir, err := os.MkdirTemp("", "paas-ent")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(dir, ns)
	if err != nil {
		t.Fatal(err)
	}
	d.OwnEtc = true
	closed := false
	t.Cleanup(func() {
		if !closed {
			d.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Start(ctx, false); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(d.CertsDir(), "registry.test:5000")
	if err := os.Mkdir(marker, 0o755); err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(d.cmd.Process.Pid)
	out, err := exec.Command("nsenter", "--target", pid, "--mount", "--", "ls", "/etc/docker/certs.d").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "registry.test:5000" {
		t.Errorf("the daemon's /etc/docker/certs.d: %v: %q", err, out)
	}
	if _, err := os.Stat("/etc/docker/certs.d/registry.test:5000"); !os.IsNotExist(err) {
		t.Errorf("the host's /etc/docker sees the daemon's: %v", err)
	}
	closed = true
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(b), dir) {
		t.Errorf("mounts left:\n%s", b)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left: %v", dir, err)
	}
}
