package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// defaultUser is the SSH user when neither the remote nor PAAS_HOST names
// one; the server accepts any user name.
const defaultUser = "paas"

// target is where the client connects: an SSH destination and, from a git
// remote, the app.
type target struct {
	User, Host, Port string
	App              string
}

// dest returns "user@host".
func (t target) dest() string { return t.User + "@" + t.Host }

// parseRemote parses a git remote URL pointing at the platform:
// ssh://[USER@]HOST[:PORT]/APP[.git] or the scp-like [USER@]HOST:APP[.git].
func parseRemote(raw string) (target, error) {
	var t target
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return t, fmt.Errorf("parsing remote %q: %w", raw, err)
		}
		switch u.Scheme {
		case "ssh", "git+ssh", "ssh+git":
		default:
			return t, fmt.Errorf("remote %q is not an SSH URL", raw)
		}
		if u.User != nil {
			t.User = u.User.Username()
		}
		t.Host, t.Port = u.Hostname(), u.Port()
		t.App = appFromPath(u.Path)
	} else {
		hostPart, path, ok := cutHostPath(raw)
		if !ok {
			return t, fmt.Errorf("remote %q is not an SSH remote (USER@HOST:APP)", raw)
		}
		if user, host, ok := strings.Cut(hostPart, "@"); ok {
			t.User, hostPart = user, host
		}
		t.Host = strings.TrimSuffix(strings.TrimPrefix(hostPart, "["), "]")
		t.App = appFromPath(path)
	}
	if t.User == "" {
		t.User = defaultUser
	}
	if err := t.check(); err != nil {
		return target{}, fmt.Errorf("remote %q: %w", raw, err)
	}
	if t.App == "" {
		return target{}, fmt.Errorf("remote %q names no app", raw)
	}
	return t, nil
}

// cutHostPath splits the scp-like "[user@]host:path", where host may be
// a bracketed IPv6 address. A local path (no colon before the first
// slash) is not a remote.
func cutHostPath(raw string) (host, path string, ok bool) {
	if i := strings.Index(raw, "]:"); i >= 0 && strings.Contains(raw[:i], "[") {
		return raw[:i+1], raw[i+2:], true
	}
	i := strings.IndexByte(raw, ':')
	if i <= 0 || strings.Contains(raw[:i], "/") {
		return "", "", false
	}
	return raw[:i], raw[i+1:], true
}

func appFromPath(p string) string {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimPrefix(p, "~/")
	return strings.TrimSuffix(p, ".git")
}

// parseHost parses PAAS_HOST: [USER@]HOST[:PORT], HOST possibly a
// bracketed IPv6 address.
func parseHost(s string) (target, error) {
	t := target{User: defaultUser}
	if user, rest, ok := strings.Cut(s, "@"); ok {
		t.User, s = user, rest
	}
	switch {
	case strings.HasPrefix(s, "[") && strings.Contains(s, "]:"):
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return target{}, fmt.Errorf("PAAS_HOST %q: %w", s, err)
		}
		t.Host, t.Port = host, port
	case strings.HasPrefix(s, "["):
		t.Host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	case strings.Count(s, ":") == 1:
		t.Host, t.Port, _ = strings.Cut(s, ":")
	default:
		t.Host = s
	}
	if err := t.check(); err != nil {
		return target{}, fmt.Errorf("PAAS_HOST %q: %w", s, err)
	}
	return t, nil
}

// check rejects destinations ssh could read as options or that are
// malformed.
func (t target) check() error {
	if t.Host == "" {
		return errors.New("no host")
	}
	for _, s := range []string{t.User, t.Host} {
		if strings.HasPrefix(s, "-") || strings.ContainsAny(s, " \t\r\n@/") {
			return fmt.Errorf("invalid user or host %q", s)
		}
	}
	if t.Port != "" {
		for _, c := range t.Port {
			if c < '0' || c > '9' {
				return fmt.Errorf("invalid port %q", t.Port)
			}
		}
	}
	return nil
}
