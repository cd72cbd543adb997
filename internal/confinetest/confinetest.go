// Package confinetest holds the probes tests run inside a container or a
// build to see its confinement from within (its user, capabilities, no
// new privileges, cgroup limits, and which addresses it can reach), and
// what they print for pushed code.
package confinetest

import (
	"strconv"
	"strings"
	"testing"
)

// Status is a shell script that prints a KEY=VALUE line each for the
// process's uid and gid, its effective and bounding capability sets
// (CapEff, CapBnd), NoNewPrivs, and its cgroup's pids and memory limits
// (pids, memory: cgroup v2 files, else v1). It ends with a newline, so
// more commands may follow it.
const Status = `echo "uid=$(id -u)"; echo "gid=$(id -g)"
sed -n 's/^\(CapEff\|CapBnd\|NoNewPrivs\):[[:space:]]*/\1=/p' /proc/self/status
echo "pids=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)"
echo "memory=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
`

// Connect is a Python program that tries a TCP connection to each
// HOST:PORT argument, for up to three seconds, and prints "HOST:PORT
// open" or "HOST:PORT closed" for each. It has no single quote, so a
// shell command may quote it whole: python3 -c '...' HOST:PORT...
const Connect = `import socket, sys
for a in sys.argv[1:]:
    h, p = a.rsplit(":", 1)
    try:
        socket.create_connection((h, int(p)), timeout=3).close()
        print(a, "open")
    except OSError:
        print(a, "closed")
`

// ConnectCommand is a shell command running Connect on targets.
func ConnectCommand(targets ...string) string {
	return "python3 -c '" + Connect + "' " + strings.Join(targets, " ")
}

// Parse returns the KEY=VALUE lines of out as a map; of a key given
// twice, the last value.
func Parse(out string) map[string]string {
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			got[k] = v
		}
	}
	return got
}

// Unprivileged is what Status prints for pushed code: the paas user
// (uid and gid 1000), no capabilities at all, no new privileges, and the
// pids and memory limits.
func Unprivileged(pids int, memory int64) map[string]string {
	return map[string]string{
		"uid": "1000", "gid": "1000",
		"CapEff": "0000000000000000", "CapBnd": "0000000000000000", "NoNewPrivs": "1",
		"pids": strconv.Itoa(pids), "memory": strconv.FormatInt(memory, 10),
	}
}

// Check fails the test for each key of want whose value in got differs,
// naming what was probed.
func Check(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got[k], v)
		}
	}
}
