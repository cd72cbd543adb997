package nodes

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/cli/cli/connhelper/ssh"
	"github.com/docker/docker/client"

	"paas"
)

// address is where a node's engine answers: a unix socket on this
// machine, or over ssh.
type address struct {
	// socket is the socket's path, for a local engine.
	socket string
	// ssh is the ssh://user@host[:port] URL, for a remote one.
	ssh *url.URL
}

var (
	// sshUserRe: a login name, never an option.
	sshUserRe = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)
	// sshHostRe: a DNS name or an IPv4 address (an IPv6 one is in
	// brackets and checked apart).
	sshHostRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$`)
)

// parseAddress reads the address nodes:add is given: "ssh://user@host",
// "ssh://user@host:port", "/path/to/docker.sock" or
// "unix:///path/to/docker.sock". Anything else is a user-facing error.
func parseAddress(s string) (address, error) {
	bad := func(why string) (address, error) {
		return address{}, paas.Errorf("invalid node address %q: %s; use ssh://USER@HOST[:PORT] or the path of a Docker engine's socket", s, why)
	}
	switch {
	case strings.HasPrefix(s, "/") || strings.HasPrefix(s, "unix://"):
		p := strings.TrimPrefix(s, "unix://")
		if !strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.ContainsAny(p, "\x00\n") {
			return bad("a socket path must be absolute and clean")
		}
		return address{socket: p}, nil
	case strings.HasPrefix(s, "ssh://"):
		u, err := url.Parse(s)
		if err != nil {
			return bad("not a URL")
		}
		if u.User == nil || !sshUserRe.MatchString(u.User.Username()) {
			return bad("it needs a user name")
		}
		if _, ok := u.User.Password(); ok {
			return bad("no password: ssh logs in with a key")
		}
		host := u.Hostname()
		if strings.HasPrefix(u.Host, "[") {
			if !strings.Contains(host, ":") || strings.ContainsAny(host, "[]/%") {
				return bad("a bad IPv6 address")
			}
		} else if !sshHostRe.MatchString(host) {
			return bad("a bad host name")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
				return bad("a bad port")
			}
		} else if strings.HasSuffix(u.Host, ":") {
			return bad("a bad port")
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return bad("nothing may follow the host")
		}
		u.Path = ""
		return address{ssh: u}, nil
	}
	return bad("neither form")
}

// String is the address as labelled on the node.
func (a address) String() string {
	if a.ssh != nil {
		return a.ssh.String()
	}
	return a.socket
}

// host is who the address names, for messages: the ssh host, or the
// socket.
func (a address) host() string {
	if a.ssh != nil {
		return a.ssh.Hostname()
	}
	return a.socket
}

// sshFlags are the ssh options every ssh command gets: never a prompt.
func (n *Nodes) sshFlags() []string {
	return append([]string{"-o", "BatchMode=yes"}, n.cfg.SSHOptions...)
}

// engine returns a client of the Docker engine at a.
func (n *Nodes) engine(a address) (*client.Client, error) {
	if a.ssh == nil {
		return client.NewClientWithOpts(client.WithHost("unix://"+a.socket), client.WithAPIVersionNegotiation())
	}
	helper, err := connhelper.GetConnectionHelperWithSSHOpts(a.ssh.String(), n.sshFlags())
	if err != nil {
		return nil, fmt.Errorf("the ssh connection to %s: %w", a.host(), err)
	}
	return client.NewClientWithOpts(
		client.WithHost(helper.Host),
		client.WithDialContext(helper.Dialer),
		client.WithAPIVersionNegotiation(),
	)
}

// trustRegistry makes the engine at a trust the registry's CA: over ssh,
// its /etc/docker/certs.d/REGISTRY/ca.crt is written (the remote command
// is an argv the ssh helper quotes, the CA on its stdin). An engine on a
// socket of this machine shares the host's /etc/docker, which paasd
// writes itself.
func (n *Nodes) trustRegistry(ctx context.Context, a address) error {
	if a.ssh == nil || n.cfg.RegistryAddr == "" {
		return nil
	}
	spec, err := ssh.NewSpec(a.ssh)
	if err != nil {
		return fmt.Errorf("the ssh address %s: %w", a.host(), err)
	}
	dest := path.Join("/etc/docker/certs.d", n.cfg.RegistryAddr, "ca.crt")
	args, err := spec.Command(append(n.sshFlags(), "-T"), "install", "-D", "-m", "0644", "/dev/stdin", dest)
	if err != nil {
		return fmt.Errorf("the ssh command for %s: %w", a.host(), err)
	}
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Stdin = bytes.NewReader(n.cfg.RegistryCA)
	out, err := cmd.CombinedOutput()
	if err != nil {
		n.log.Warn("writing the registry's CA on a node", "host", a.host(), "err", err, "output", string(out))
		return paas.Errorf("could not write the registry's CA to %s on %s over ssh (the user must be able to write there): %s",
			dest, a.host(), firstLine(out, err))
	}
	return nil
}

// firstLine is the first line of out, or err's message when out is
// empty.
func firstLine(out []byte, err error) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return err.Error()
	}
	return line
}
