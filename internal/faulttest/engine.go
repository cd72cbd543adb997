package faulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"paas/internal/enginetest"
)

// Engine is a Docker engine of a fault test's own, never the host's: its
// own data root, exec root, pid file, socket and cgroup parent, in a
// network namespace of its own joined to the host by a veth pair (so its
// published ports and bridges clash with nothing). The test stops and
// starts it at will.
type Engine struct {
	*enginetest.Daemon
	// HostIP and PeerIP are the addresses of the veth pair's host end
	// and namespace end: a server in the namespace that listens on
	// PeerIP is reached from the host there.
	HostIP, PeerIP string

	hostIf string
}

// Requirement returns why this host cannot run an Engine ("" when it
// can): root, the ip and nsenter commands and dockerd are needed.
func Requirement() string { return enginetest.Requirement() }

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
		Daemon: &enginetest.Daemon{Dir: dir, NS: "paas-eng-" + id},
		hostIf: "eng-" + id,
		HostIP: fmt.Sprintf("198.%d.%d.%d", second, third, fourth+1),
		PeerIP: fmt.Sprintf("198.%d.%d.%d", second, third, fourth+2),
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
	d, err := enginetest.New(dir, e.NS)
	if err != nil {
		e.Close()
		return nil, err
	}
	e.Daemon = d
	return e, nil
}

// StackCache is where LoadImage keeps the saved archive of the host
// engine's image (see enginetest.StackCache).
func StackCache(ctx context.Context, image string) (string, error) {
	return enginetest.StackCache(ctx, image)
}

// Close stops the engine (see enginetest.Daemon.Close) and removes the
// namespace and its data.
func (e *Engine) Close() error {
	var errs []error
	if e.Host != "" {
		errs = append(errs, e.Daemon.Close())
	}
	if out, err := exec.Command("ip", "link", "del", e.hostIf).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find") {
		errs = append(errs, fmt.Errorf("ip link del: %v: %s", err, out))
	}
	if out, err := exec.Command("ip", "netns", "del", e.NS).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
		errs = append(errs, fmt.Errorf("ip netns del: %v: %s", err, out))
	}
	return errors.Join(errs...)
}
