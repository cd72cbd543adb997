package builder

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestStepsAsAppUserRunUnderAProcessCap runs a step as an app's user and
// reads its limits: the process cap of an app's user applies.
func TestStepsAsAppUserRunUnderAProcessCap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running build steps as another user needs root (CAP_SETUID)")
	}
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("util-linux's prlimit is not installed")
	}
	var out bytes.Buffer
	err := run(t.Context(), command{argv: []string{"cat", "/proc/self/limits"}, dir: "/", stdout: &out,
		cred: &syscall.Credential{Uid: 123495, Gid: 123496}})
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(out.String()) {
		if rest, ok := strings.CutPrefix(line, "Max processes"); ok {
			if f := strings.Fields(rest); len(f) < 2 || f[0] != "1024" || f[1] != "1024" {
				t.Errorf("a build step's process limit: %q, want 1024 1024", strings.TrimSpace(rest))
			}
			return
		}
	}
	t.Fatalf("no process limit in\n%s", out.String())
}
