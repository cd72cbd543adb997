// Package swarmtest forms, for tests, a real multi-node Docker Swarm on
// one machine: N Docker engines (see enginetest), each in a network
// namespace of its own, joined by veth pairs to a bridge in one more
// namespace, so that the nodes reach each other (and the host reaches
// them) on a private /24:
//
//	host ── sw-ID (.1) ══ h-ID ─┐
//	                             br0   (namespace paas-sw-ID)
//	node 0 (paas-sw-ID-0) eth0 (.10) ══ ID-0 ─┤
//	node 1 (paas-sw-ID-1) eth0 (.11) ══ ID-1 ─┤
//	...
//
// Each node's default route is the host's address; nothing is forwarded
// beyond, so the swarm's traffic stays in these namespaces and the
// host's end. The swarm is formed through the engines' API: SwarmInit on
// node 0 with its address as the advertised one, SwarmJoin on the others
// with the manager or worker token. Each node has an /etc/docker of its
// own (enginetest.Daemon.OwnEtc): a registry's CA is trusted by writing
// it to the node's CertsDir. Images from the host's engine reach the
// nodes through a data root made once and hard-linked into each
// (enginetest.ImageTemplate); the ingress routing mesh needs IPVS, so
// services publish with dnsrr endpoints or host-mode ports.
package swarmtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"paas/internal/enginetest"
)

// Config says what swarm to form.
type Config struct {
	// Nodes is how many engines (at least 1); Managers how many of them
	// are managers (at least 1; node 0 is always one).
	Nodes, Managers int
	// Images are given from the host's engine to every node.
	Images []string
	// LocalImagesOnly makes a task run from the image its node has,
	// never pulling it first (DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1).
	// Without it a node pulls a task's image before every start, and
	// one from no registry it reaches (Images) costs a failed pull.
	LocalImagesOnly bool
	// Spare is how many more engines to start on the swarm's subnet
	// (with the same Images) but leave out of the swarm: Swarm.Spare,
	// for tests that join them.
	Spare int
}

// Node is one engine of the swarm.
type Node struct {
	*enginetest.Daemon
	// ID is its swarm node ID (the swarm names nodes after their
	// hostname, which all share here).
	ID string
	// IP is its address on the swarm's subnet (also the one it
	// advertises).
	IP string
	// Manager tells whether it joined as a manager.
	Manager bool
}

// Swarm is a formed swarm and the namespaces and links under it.
type Swarm struct {
	// Nodes are its engines; Nodes[0] made the swarm and is a manager.
	Nodes []*Node
	// Spare are engines running on the swarm's subnet, in no swarm
	// (Config.Spare): ID and Manager are unset.
	Spare []*Node
	// HostIP is the host's address on the swarm's subnet: a server on
	// the host that listens there is reached from every node.
	HostIP string
	// Subnet is the swarm's /24.
	Subnet string
	// FormedIn is how long forming the swarm took, from SwarmInit until
	// every node was ready (engine starts and image loads not counted).
	FormedIn time.Duration

	id     string
	dir    string
	bridge string
	hostIf string
}

// Requirement returns why this host cannot form a test swarm ("" when
// it can): what enginetest needs, and the kernel's veth, bridge and
// VXLAN links (the overlay network's data path).
func Requirement() string {
	if why := enginetest.Requirement(); why != "" {
		return why
	}
	var b [3]byte
	rand.Read(b[:])
	ns := "paas-swq-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Sprintf("needs network namespaces: %s", out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	for kind, args := range map[string][]string{
		"veth":   {"type", "veth", "peer", "name", "q1"},
		"bridge": {"type", "bridge"},
		"vxlan":  {"type", "vxlan", "id", "42", "dstport", "4789"},
	} {
		cmd := append([]string{"-n", ns, "link", "add", "q0"}, args...)
		if out, err := exec.Command("ip", cmd...).CombinedOutput(); err != nil {
			return fmt.Sprintf("needs the kernel's %s links: %s", kind, strings.TrimSpace(string(out)))
		}
		exec.Command("ip", "-n", ns, "link", "del", "q0").Run()
	}
	return ""
}

// Start forms a swarm as cfg says, its engines' directories under a new
// directory of the temp dir. On error, what it made is removed. Close
// removes it all.
func Start(ctx context.Context, cfg Config) (*Swarm, error) {
	if cfg.Nodes < 1 || cfg.Managers < 1 || cfg.Managers > cfg.Nodes || cfg.Spare < 0 {
		return nil, fmt.Errorf("a swarm of %d nodes with %d managers", cfg.Nodes, cfg.Managers)
	}
	s, err := newNetwork(cfg.Nodes+cfg.Spare, cfg.LocalImagesOnly)
	if err != nil {
		return nil, err
	}
	s.Nodes, s.Spare = s.Nodes[:cfg.Nodes:cfg.Nodes], s.Nodes[cfg.Nodes:]
	if err := s.start(ctx, cfg); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// newNetwork makes the namespaces, the bridge and the links of a swarm
// of n nodes, and their engines' directories, starting nothing.
func newNetwork(n int, localOnly bool) (*Swarm, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := hex.EncodeToString(b[:])
	// A /24 of the benchmarking range 198.18.0.0/15, which nothing else
	// routes (other tests take /30s of it: skip a /24 the host has).
	var prefix string
	for i := 0; ; i++ {
		prefix = fmt.Sprintf("198.%d.%d", 18+b[0]&1, b[1])
		if !hostHas(prefix+".") || i == 20 {
			break
		}
		rand.Read(b[:2])
	}
	dir, err := os.MkdirTemp("", "paas-sw")
	if err != nil {
		return nil, err
	}
	s := &Swarm{
		id: id, dir: dir, bridge: "paas-sw-" + id, hostIf: "sw-" + id,
		HostIP: prefix + ".1", Subnet: prefix + ".0/24",
	}
	steps := [][]string{
		{"netns", "add", s.bridge},
		{"-n", s.bridge, "link", "add", "br0", "type", "bridge"},
		{"-n", s.bridge, "link", "set", "br0", "up"},
		{"link", "add", s.hostIf, "type", "veth", "peer", "name", "h-" + id, "netns", s.bridge},
		{"addr", "add", s.HostIP + "/24", "dev", s.hostIf},
		{"link", "set", s.hostIf, "up"},
		{"-n", s.bridge, "link", "set", "h-" + id, "master", "br0", "up"},
	}
	for i := range n {
		ns := fmt.Sprintf("%s-%d", s.bridge, i)
		br := fmt.Sprintf("%s-%d", id, i)
		ip := fmt.Sprintf("%s.%d", prefix, 10+i)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"-n", ns, "link", "set", "lo", "up"},
			[]string{"-n", s.bridge, "link", "add", br, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"-n", s.bridge, "link", "set", br, "master", "br0", "up"},
			[]string{"-n", ns, "addr", "add", ip + "/24", "dev", "eth0"},
			[]string{"-n", ns, "link", "set", "eth0", "up"},
			[]string{"-n", ns, "route", "add", "default", "via", s.HostIP},
		)
		s.Nodes = append(s.Nodes, &Node{IP: ip, Daemon: &enginetest.Daemon{NS: ns}})
	}
	for _, args := range steps {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return nil, errors.Join(fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out), s.Close())
		}
	}
	for i, n := range s.Nodes {
		d := filepath.Join(dir, fmt.Sprint(i))
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, errors.Join(err, s.Close())
		}
		daemon, err := enginetest.New(d, n.NS)
		if err != nil {
			return nil, errors.Join(err, s.Close())
		}
		daemon.OwnEtc = true
		if localOnly {
			daemon.Env = []string{"DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1"}
		}
		n.Daemon = daemon
	}
	return s, nil
}

// hostHas reports whether one of the host's addresses or routes starts
// with prefix.
func hostHas(prefix string) bool {
	out, _ := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix) || len(f) > 1 && f[0] == "local" && strings.HasPrefix(f[1], prefix) {
			return true
		}
	}
	return false
}

// start gives the engines the images, starts them and forms the swarm.
func (s *Swarm) start(ctx context.Context, cfg Config) error {
	if len(cfg.Images) > 0 {
		tpl, err := enginetest.ImageTemplate(ctx, cfg.Images)
		if err != nil {
			return err
		}
		for _, n := range s.engines() {
			if err := n.Seed(tpl); err != nil {
				return err
			}
		}
	}
	errs := make(chan error, len(s.engines()))
	for _, n := range s.engines() {
		go func() {
			if err := n.Start(ctx, false); err != nil {
				errs <- fmt.Errorf("node %s: %w", n.IP, err)
				return
			}
			errs <- nil
		}()
	}
	var all []error
	for range s.engines() {
		all = append(all, <-errs)
	}
	if err := errors.Join(all...); err != nil {
		return err
	}
	start := time.Now()
	if err := s.form(ctx, cfg.Managers); err != nil {
		return err
	}
	s.FormedIn = time.Since(start)
	return nil
}

// form makes the swarm on node 0, joins the others to it (the first
// managers-1 as managers), and waits until every node is ready.
func (s *Swarm) form(ctx context.Context, managers int) error {
	first := s.Nodes[0]
	cli, err := first.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	nodeID, err := cli.SwarmInit(ctx, swarm.InitRequest{
		ListenAddr:    net.JoinHostPort(first.IP, "2377"),
		AdvertiseAddr: first.IP,
		// Short heartbeats: a stopped node is seen down within seconds.
		Spec: swarm.Spec{Dispatcher: swarm.DispatcherConfig{HeartbeatPeriod: time.Second}},
	})
	if err != nil {
		return fmt.Errorf("swarm init on %s: %w", first.IP, err)
	}
	first.ID, first.Manager = nodeID, true
	sw, err := cli.SwarmInspect(ctx)
	if err != nil {
		return fmt.Errorf("swarm inspect: %w", err)
	}
	for i, n := range s.Nodes[1:] {
		token := sw.JoinTokens.Worker
		if i+1 < managers {
			token, n.Manager = sw.JoinTokens.Manager, true
		}
		ncli, err := n.Client()
		if err != nil {
			return err
		}
		err = ncli.SwarmJoin(ctx, swarm.JoinRequest{
			ListenAddr:    net.JoinHostPort(n.IP, "2377"),
			AdvertiseAddr: n.IP,
			RemoteAddrs:   []string{net.JoinHostPort(first.IP, "2377")},
			JoinToken:     token,
		})
		if err == nil {
			var info swarm.Info
			if i, ierr := ncli.Info(ctx); ierr == nil {
				info = i.Swarm
			} else {
				err = ierr
			}
			n.ID = info.NodeID
		}
		ncli.Close()
		if err != nil {
			return fmt.Errorf("swarm join of %s: %w", n.IP, err)
		}
	}
	return s.WaitReady(ctx, time.Minute)
}

// engines are the swarm's nodes and its spare engines.
func (s *Swarm) engines() []*Node {
	return append(append([]*Node(nil), s.Nodes...), s.Spare...)
}
