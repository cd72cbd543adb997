package nodes

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"paas/internal/swarmtest"
)

// sshNode serves SSH on loopback for the engine of node: a session's
// command runs, as sshd runs it, through `sh -c` of the login user, in
// the node's network namespace and its engine's mount namespace (where
// /etc/docker is the node's own), with DOCKER_HOST naming its engine.
// It returns the ssh:// address and the ssh options that log in with
// the test's key and know the server's host key.
func sshNode(t *testing.T, node *swarmtest.Node) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := gossh.NewSignerFromKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, clientKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(clientKey, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	allowed, err := gossh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := os.ReadFile(filepath.Join(node.Dir, "dockerd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	mountNS := fmt.Sprintf("/proc/%s/ns/mnt", strings.TrimSpace(string(pid)))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &ssh.Server{
		PublicKeyHandler: func(ctx ssh.Context, key ssh.PublicKey) bool {
			return ctx.User() == "root" && ssh.KeysEqual(key, allowed)
		},
		Handler: func(s ssh.Session) {
			cmd := exec.CommandContext(s.Context(), "nsenter", "--net=/run/netns/"+node.NS, "--mount="+mountNS, "--",
				"sh", "-c", s.RawCommand())
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DOCKER_HOST=" + node.Host, "HOME=" + dir}
			cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s.Stderr()
			status := 0
			if err := cmd.Run(); err != nil {
				status = 255
				if ee, ok := err.(*exec.ExitError); ok {
					status = ee.ExitCode()
				}
			}
			s.Exit(status)
		},
	}
	srv.AddHostKey(hostSigner)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	port := ln.Addr().(*net.TCPAddr).Port
	knownHosts := filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s", port, gossh.MarshalAuthorizedKey(hostSigner.PublicKey()))
	if err := os.WriteFile(knownHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := []string{"-F", "none", "-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + knownHosts}
	return fmt.Sprintf("ssh://root@127.0.0.1:%d", port), opts
}
