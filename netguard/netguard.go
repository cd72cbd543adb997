// Package netguard keeps containers on paas's bridge networks away from
// the host they run on. Docker isolates bridge networks from each other,
// but a container still reaches every port the host listens on through
// its bridge's gateway address (and the host's other addresses): paasd's
// SSH port, the router, the engine's TCP socket, anything. The engine has
// no option against that, so a Guard installs host firewall rules: a
// chain hooked first into INPUT that, for each guarded bridge interface,
// accepts packets of connections the host opened (the router reaching an
// instance through its published port, the replies of a health probe)
// and rejects everything else. Forwarded traffic (a build fetching
// modules, an app calling an API) does not pass INPUT and is untouched.
//
// The rules are made with the iptables and ip6tables commands, run with
// an argument vector. They need root.
package netguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Chain is the filter-table chain the rules live in, jumped to first
// from INPUT.
const Chain = "PAAS-HOST"

// ErrNoIptables is returned by New when no iptables command is found.
var ErrNoIptables = errors.New("iptables not found")

// commandTimeout bounds one iptables run.
const commandTimeout = 30 * time.Second

// family is one IP version's firewall command.
type family struct {
	name   string // "IPv4", "IPv6"
	bin    string // the iptables or ip6tables executable
	reject string // the ICMP type rejected packets are answered with
}

// Guard installs and removes the rules that keep containers on bridge
// interfaces from the host. It is safe for concurrent use, also by
// several paasd processes on one host: rules are only ever added once
// checked absent, a bridge's accept rule always before its reject rule,
// and nothing is flushed.
type Guard struct {
	log  *slog.Logger
	fams []family

	mu        sync.Mutex
	protected map[string]bool // interfaces whose rules this Guard installed or found
}

// New finds iptables (and ip6tables, when the host has a working one),
// creates Chain and hooks it into INPUT. Without iptables it returns an
// error wrapping ErrNoIptables; a failing ip6tables is logged and left
// out (the engine gives containers of paas's networks no IPv6).
func New(ctx context.Context, log *slog.Logger) (*Guard, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Guard{log: log, protected: map[string]bool{}}
	bin, err := lookPath("iptables")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoIptables, err)
	}
	v4 := family{name: "IPv4", bin: bin, reject: "icmp-admin-prohibited"}
	if err := g.hook(ctx, v4); err != nil {
		return nil, err
	}
	g.fams = append(g.fams, v4)
	if bin6, err := lookPath("ip6tables"); err != nil {
		log.Info("no ip6tables: guarding IPv4 only", "err", err)
	} else {
		v6 := family{name: "IPv6", bin: bin6, reject: "icmp6-adm-prohibited"}
		if err := g.hook(ctx, v6); err != nil {
			log.Warn("ip6tables does not work: guarding IPv4 only", "err", err)
		} else {
			g.fams = append(g.fams, v6)
		}
	}
	return g, nil
}

// lookPath finds name on PATH, then in the sbin directories a service's
// PATH may lack.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p, err2 := exec.LookPath(dir + "/" + name); err2 == nil {
			return p, nil
		}
	}
	return "", err
}

// hook creates Chain when it is missing and makes INPUT jump to it first.
func (g *Guard) hook(ctx context.Context, f family) error {
	if _, err := g.ipt(ctx, f, "-S", Chain); err != nil {
		if _, err := g.ipt(ctx, f, "-N", Chain); err != nil {
			// Another paasd may have made it meanwhile.
			if _, err2 := g.ipt(ctx, f, "-S", Chain); err2 != nil {
				return fmt.Errorf("creating the %s chain %s: %w", f.name, Chain, err)
			}
		}
	}
	jump := []string{"INPUT", "-j", Chain}
	if ok, err := g.exists(ctx, f, jump); err != nil {
		return err
	} else if !ok {
		if _, err := g.ipt(ctx, f, append([]string{"-I", "INPUT", "1"}, jump[1:]...)...); err != nil {
			return fmt.Errorf("hooking the %s chain %s into INPUT: %w", f.name, Chain, err)
		}
	}
	return nil
}

// ifaceName is what a Linux interface name may be (IFNAMSIZ).
var ifaceName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,15}$`)

// rules are the rules of iface in Chain for family f, in order.
func rules(f family, iface string) [][]string {
	return [][]string{
		{Chain, "-i", iface, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
		{Chain, "-i", iface, "-j", "REJECT", "--reject-with", f.reject},
	}
}

// Protect makes sure packets from bridge iface to the host are rejected,
// except those of connections the host opened. It is idempotent and
// cheap once iface is protected.
func (g *Guard) Protect(ctx context.Context, iface string) error {
	if !ifaceName.MatchString(iface) {
		return fmt.Errorf("guarding bridge: invalid interface name %q", iface)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.protected[iface] {
		return nil
	}
	for _, f := range g.fams {
		for _, r := range rules(f, iface) {
			ok, err := g.exists(ctx, f, r)
			if err != nil {
				return fmt.Errorf("guarding bridge %s: %w", iface, err)
			}
			if ok {
				continue
			}
			if _, err := g.ipt(ctx, f, append([]string{"-A"}, r...)...); err != nil {
				return fmt.Errorf("guarding bridge %s (%s): %w", iface, f.name, err)
			}
		}
	}
	g.protected[iface] = true
	if _, err := net.InterfaceByName(iface); err != nil {
		// The engine's bridges live in another network namespace or on
		// another host: these rules do not reach them.
		g.log.Warn("guarded bridge is not an interface here: containers of an engine elsewhere are not kept from their host",
			"interface", iface)
	}
	g.log.Debug("bridge guarded", "interface", iface)
	return nil
}

// Release removes iface's rules, once its network is gone.
func (g *Guard) Release(ctx context.Context, iface string) error {
	if !ifaceName.MatchString(iface) {
		return fmt.Errorf("releasing bridge: invalid interface name %q", iface)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.protected, iface)
	var errs []error
	for _, f := range g.fams {
		for _, r := range rules(f, iface) {
			// Two paasd processes may each have added it once.
			for range 4 {
				ok, err := g.exists(ctx, f, r)
				if err != nil {
					errs = append(errs, err)
					break
				}
				if !ok {
					break
				}
				if _, err := g.ipt(ctx, f, append([]string{"-D"}, r...)...); err != nil {
					errs = append(errs, err)
					break
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("releasing bridge %s: %w", iface, err)
	}
	return nil
}

// exists reports whether rule (chain first) is in place. iptables -C
// exits 1 when it is not.
func (g *Guard) exists(ctx context.Context, f family, rule []string) (bool, error) {
	_, err := g.ipt(ctx, f, append([]string{"-C"}, rule...)...)
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return false, nil
	}
	return false, err
}

// ipt runs f's command with -w (wait for the xtables lock, which the
// engine takes too) and args in the filter table.
func (g *Guard) ipt(ctx context.Context, f family, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	argv := append([]string{"-w", "-t", "filter"}, args...)
	cmd := exec.CommandContext(ctx, f.bin, argv...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return "", fmt.Errorf("%s %s: %w", f.bin, strings.Join(argv, " "), err)
		}
		return "", fmt.Errorf("%s %s: %w: %s", f.bin, strings.Join(argv, " "), err, msg)
	}
	return out.String(), nil
}
