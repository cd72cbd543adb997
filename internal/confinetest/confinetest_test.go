package confinetest

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestStatus runs Status here: it prints a line for every key
// Unprivileged names (outside a container, the cgroup limits may be
// empty).
func TestStatus(t *testing.T) {
	out, err := exec.Command("sh", "-c", Status).Output()
	if err != nil {
		t.Fatalf("Status: %v\n%s", err, out)
	}
	got := Parse(string(out))
	for k := range Unprivileged(1, 1) {
		if _, ok := got[k]; !ok {
			t.Errorf("Status prints no %s:\n%s", k, out)
		}
	}
	if uid := strconv.Itoa(os.Getuid()); got["uid"] != uid {
		t.Errorf("uid = %q, want %s", got["uid"], uid)
	}
}

// TestConnect runs ConnectCommand against a listener and a closed port.
func TestConnect(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := ln.Addr().String()
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln2.Addr().String()
	ln2.Close()
	defer ln.Close()
	out, err := exec.Command("sh", "-c", ConnectCommand(open, closed)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if string(out) != open+" open\n"+closed+" closed\n" {
		t.Errorf("output %q", out)
	}
	if strings.Contains(Connect, "'") {
		t.Error("Connect has a single quote")
	}
}
