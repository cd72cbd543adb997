package gateway

import (
	"regexp"
	"strings"
	"testing"
)

func TestSSHCipherIsAESWhereTheCPUHasIt(t *testing.T) {
	requireTools(t)
	e := startServer(t)
	status, _, stderr := e.ssh("", []string{"-v"}, "version")
	if status != 0 {
		t.Fatalf("ssh exited %d: %s", status, stderr)
	}
	m := regexp.MustCompile(`server->client cipher: (\S+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no cipher in the client's debug output:\n%s", stderr)
	}
	if aesHardware() != strings.HasPrefix(m[1], "aes") {
		t.Fatalf("cipher %s with AES hardware %v", m[1], aesHardware())
	}
	// A client that insists on ChaCha20-Poly1305 is refused where AES
	// runs in hardware, served where it does not.
	status, _, stderr = e.ssh("", []string{"-v", "-c", "chacha20-poly1305@openssh.com"}, "version")
	if aesHardware() != (status == 255 && strings.Contains(stderr, "no matching cipher")) {
		t.Fatalf("chacha20-poly1305 only: exit %d, %s", status, stderr)
	}
}
