package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sshFrom runs one server command with the real ssh client using key,
// from a loopback address, with extra ssh options.
func (s *server) sshFrom(key, from string, opts []string, command string) result {
	s.t.Helper()
	args := []string{"-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "BindAddress=" + from}
	args = append(args, opts...)
	args = append(args, "-p", s.port(), "paas@127.0.0.1", command)
	return s.run("", "", "ssh", args...)
}

// newKey makes a key pair and returns its private key file and its
// public key line.
func newKey(t *testing.T, name string) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

// TestAuthorizedKeysOptions starts paasd on an authorized_keys file whose
// keys are restricted, and logs in with each through the real client.
func TestAuthorizedKeysOptions(t *testing.T) {
	root := t.TempDir()
	// The admin key of startServer stays unrestricted (for its clean-up).
	admin, adminPub := newKey(t, "admin")
	far, farPub := newKey(t, "far")
	near, nearPub := newKey(t, "near")
	file := filepath.Join(root, "authorized_keys")
	lines := adminPub + "\n" + `from="10.9.9.9" ` + farPub + "\n" + `from="127.0.0.0/8,!127.0.0.3",no-pty ` + nearPub + "\n"
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_AUTHORIZED_KEYS="+file)
	s.keyFile = admin

	r := s.sshFrom(far, "127.0.0.1", nil, "apps")
	if r.code != 255 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("from=10.9.9.9 key from 127.0.0.1: exit %d, stderr %q", r.code, r.stderr)
	}
	requireOK(t, "apps with the from=127.0.0.0/8 key", s.sshFrom(near, "127.0.0.1", nil, "apps"))
	if r := s.sshFrom(near, "127.0.0.3", nil, "apps"); r.code != 255 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("from=127.0.0.0/8,!127.0.0.3 key from 127.0.0.3: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := s.sshFrom(near, "127.0.0.1", []string{"-tt"}, "apps"); r.code != 255 || !strings.Contains(r.stderr, "PTY allocation request failed") {
		t.Errorf("no-pty key with ssh -tt: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := s.sshFrom(admin, "127.0.0.1", []string{"-tt"}, "apps"); r.code != 0 || strings.Contains(r.stderr, "PTY allocation request failed") {
		t.Errorf("unrestricted key with ssh -tt: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestUnenforceableKeyOptionStopsStart starts the real paasd on an
// authorized_keys file with an option it does not implement.
func TestUnenforceableKeyOptionStopsStart(t *testing.T) {
	root := t.TempDir()
	_, pub1 := newKey(t, "one")
	_, pub2 := newKey(t, "two")
	file := filepath.Join(root, "authorized_keys")
	if err := os.WriteFile(file, []byte("# team keys\n"+pub1+"\n"+`command="/usr/bin/id" `+pub2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A paasd that starts anyway is stopped after a minute.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "paasd"))
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + root,
		"PAAS_DATA_DIR=" + filepath.Join(root, "data"), "PAAS_RUNTIME=exec",
		"PAAS_SSH_ADDR=127.0.0.1:0", "PAAS_HTTP_ADDR=127.0.0.1:0", "PAAS_HTTPS_ADDR=off",
		"PAAS_AUTHORIZED_KEYS=" + file,
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("paasd: %v, stderr %q", err, stderr.String())
	}
	want := "paasd: PAAS_AUTHORIZED_KEYS: " + file + ":3: authorized_keys option command is not supported by paasd"
	if !strings.HasPrefix(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("stderr %q, want one line starting %q", stderr.String(), want)
	}
	if _, err := os.Stat(filepath.Join(root, "data", "paas.db")); err == nil {
		t.Error("paasd created its store before refusing the keys")
	}
}

// paasdFDs counts paasd's open file descriptors.
func (s *server) paasdFDs() int {
	s.t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	if err != nil {
		s.t.Fatalf("counting paasd's file descriptors: %v", err)
	}
	return len(entries)
}

// TestSilentSSHConnections opens 200 silent connections from one address
// to the real paasd: beyond the cap per source they are closed at once,
// the rest at the handshake deadline, and a real `ssh apps` from another
// address works meanwhile; paasd's descriptors return to their count.
func TestSilentSSHConnections(t *testing.T) {
	const deadline = 3 * time.Second
	s := startServer(t, "PAAS_RUNTIME=exec", fmt.Sprintf("PAAS_SSH_HANDSHAKE_TIMEOUT=%v", deadline))
	requireOK(t, "apps:create", s.ssh("apps:create quiet-app"))
	baseline := s.paasdFDs()

	type held struct {
		c      net.Conn
		r      *bufio.Reader
		opened time.Time
	}
	var open []held
	for range 200 {
		opened := time.Now()
		c, err := net.Dial("tcp", s.sshAddr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		switch {
		case err == nil && strings.HasPrefix(line, "SSH-2.0-"):
			open = append(open, held{c, r, opened})
		case errors.Is(err, io.EOF) && line == "":
			c.Close() // refused at once
		default:
			t.Fatalf("silent connection: read %q, %v", line, err)
		}
	}
	if len(open) != 10 {
		t.Fatalf("%d silent connections from one address held, want 10", len(open))
	}

	r := s.sshFrom(s.keyFile, "127.0.0.2", nil, "apps")
	requireOK(t, "apps during the flood", r)
	if rows := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(rows) != 2 || strings.Fields(rows[1])[0] != "quiet-app" {
		t.Fatalf("apps during the flood: %q", r.stdout)
	}

	for _, h := range open {
		if _, err := io.Copy(io.Discard, h.r); err != nil {
			t.Fatalf("waiting for paasd to close a silent connection: %v", err)
		}
		if d := time.Since(h.opened); d < deadline {
			t.Errorf("a silent connection was closed after %v, before the %v deadline", d, deadline)
		}
		h.c.Close()
	}
	waitFor(t, func() bool { return s.paasdFDs() <= baseline })
	if n := strings.Count(s.out.String(), `"kind":"per-source"`); n != 1 {
		t.Errorf("%d per-source notices logged, want 1:\n%s", n, s.out.String())
	}
}
