package swarmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// Manager returns a client of node 0, the swarm's first manager.
func (s *Swarm) Manager() (*client.Client, error) {
	return s.Nodes[0].Client()
}

// Node returns the node of a swarm node ID, or nil.
func (s *Swarm) Node(id string) *Node {
	for _, n := range s.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// WaitReady waits until the manager lists every node of the swarm
// ready, or within says how long it waited in vain.
func (s *Swarm) WaitReady(ctx context.Context, within time.Duration) error {
	cli, err := s.Manager()
	if err != nil {
		return err
	}
	defer cli.Close()
	deadline := time.Now().Add(within)
	for {
		nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
		ready := 0
		for _, n := range nodes {
			if n.Status.State == swarm.NodeStateReady && s.Node(n.ID) != nil {
				ready++
			}
		}
		if err == nil && ready == len(s.Nodes) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes ready after %s (%v)", ready, len(s.Nodes), within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close leaves the swarm on every node, stops the engines (which stop
// their containers), kills what is left of them, and removes the
// namespaces, the links and the directories. It may be called after a
// failed Start or test, and again.
func (s *Swarm) Close() error {
	errs := make(chan error, len(s.engines()))
	for _, n := range s.engines() {
		go func() {
			if n.Daemon == nil || n.Dir == "" {
				errs <- nil
				return
			}
			if n.Running() {
				if cli, err := n.Client(); err == nil {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					cli.SwarmLeave(ctx, true)
					cancel()
					cli.Close()
				}
			}
			errs <- n.Daemon.Close()
		}()
	}
	var all []error
	for range s.engines() {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	ip := func(args ...string) {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "Cannot find") && !strings.Contains(string(out), "No such file") {
			all = append(all, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out))
		}
	}
	for _, n := range s.engines() {
		ip("netns", "del", n.NS)
	}
	ip("link", "del", s.hostIf)
	ip("netns", "del", s.bridge)
	if s.dir != "" {
		if err := os.RemoveAll(s.dir); err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}
