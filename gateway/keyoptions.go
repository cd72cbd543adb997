package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// keyRules are what a key's authorized_keys options (sshd(8), "AUTHORIZED_KEYS
// FILE FORMAT") allow. paasd implements the options that restrict where
// and until when a key logs in and whether it gets a terminal; the
// gateway never offers port, agent or X11 forwarding nor runs user rc
// files, so the options that forbid those hold for every key. Any other
// option is refused when the key is admitted (CheckKeyOptions), so that
// no restriction is silently ignored.
type keyRules struct {
	from    addrPatternList // from="...": the client address must match; nil for any
	expires time.Time       // expiry-time="...": zero for never
	noPTY   bool            // no-pty, or restrict without a later pty
}

// errKeyOption is wrapped by every error about an option.
var errKeyOption = errors.New("authorized_keys option")

// supportedKeyOptions names the options paasd accepts, for error messages.
const supportedKeyOptions = `from=, expiry-time=, restrict, no-pty, pty, no-port-forwarding, no-agent-forwarding, no-X11-forwarding, no-user-rc (and their permissive forms, which grant nothing paasd offers)`

// CheckKeyOptions reports whether paasd can enforce every option of an
// authorized_keys line, as ssh.ParseAuthorizedKey returns them; the error
// names the first option it cannot.
func CheckKeyOptions(options []string) error {
	_, err := parseKeyOptions(options)
	return err
}

// parseKeyOptions reads a key's options in order (a later pty undoes an
// earlier restrict, as in sshd). Option names are case-insensitive.
func parseKeyOptions(options []string) (keyRules, error) {
	var r keyRules
	for _, opt := range options {
		name, raw, hasValue := strings.Cut(opt, "=")
		name = strings.ToLower(name)
		switch name {
		case "from", "expiry-time":
			if !hasValue {
				return r, fmt.Errorf("%w %s needs a value (%s=\"...\")", errKeyOption, name, name)
			}
			value, err := dequote(raw)
			if err != nil {
				return r, fmt.Errorf("%w %s: %v", errKeyOption, name, err)
			}
			if err := r.apply(name, value); err != nil {
				return r, err
			}
			continue
		case "command", "environment", "permitopen", "permitlisten", "principals", "tunnel",
			"cert-authority", "no-touch-required", "verify-required":
			return r, fmt.Errorf("%w %s is not supported by paasd (supported: %s)", errKeyOption, name, supportedKeyOptions)
		}
		if hasValue {
			return r, fmt.Errorf("%w %q is unknown", errKeyOption, opt)
		}
		switch name {
		case "restrict", "no-pty":
			r.noPTY = true
		case "pty":
			r.noPTY = false
		case "no-port-forwarding", "no-agent-forwarding", "no-x11-forwarding", "no-user-rc",
			"port-forwarding", "agent-forwarding", "x11-forwarding", "user-rc",
			"touch-required":
			// Forwarding and user rc files are never offered, and the
			// SSH library requires a security key's touch: nothing to do.
		default:
			return r, fmt.Errorf("%w %q is unknown", errKeyOption, name)
		}
	}
	return r, nil
}

// apply adds a from= or expiry-time= option with its unquoted value.
func (r *keyRules) apply(name, value string) error {
	if name == "expiry-time" {
		t, err := parseExpiryTime(value)
		if err != nil {
			return fmt.Errorf("%w expiry-time=%q: %v", errKeyOption, value, err)
		}
		// As in sshd, the earliest of several wins.
		if r.expires.IsZero() || t.Before(r.expires) {
			r.expires = t
		}
		return nil
	}
	// sshd refuses a second from= too.
	if r.from != nil {
		return fmt.Errorf("%w from= is given twice", errKeyOption)
	}
	l, err := parseAddrPatternList(value)
	if err != nil {
		return fmt.Errorf("%w from=%q: %v", errKeyOption, value, err)
	}
	r.from = l
	return nil
}

// dequote reads an option value in double quotes, where \" stands for a
// quote, as sshd does.
func dequote(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errors.New(`want a value in double quotes`)
	}
	inner := v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		switch {
		case inner[i] == '\\' && i+1 < len(inner) && inner[i+1] == '"':
			b.WriteByte('"')
			i++
		case inner[i] == '"':
			return "", errors.New(`unescaped quote inside the value`)
		default:
			b.WriteByte(inner[i])
		}
	}
	return b.String(), nil
}

// parseExpiryTime reads sshd's YYYYMMDD[HHMM[SS]] time, in the server's
// time zone, or in UTC with a trailing Z.
func parseExpiryTime(s string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		loc, s = time.UTC, s[:len(s)-1]
	}
	var layout string
	switch len(s) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, errors.New("want YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, optionally followed by Z for UTC")
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, errors.New("not a valid date and time")
	}
	return t, nil
}

// permits reports why a client at addr may not use the key at now, nil
// when it may.
func (r keyRules) permits(addr netip.Addr, now time.Time) error {
	if !r.expires.IsZero() && now.After(r.expires) {
		return fmt.Errorf("key expired at %s", r.expires.Format(time.RFC3339))
	}
	if r.from != nil && !r.from.match(addr) {
		return fmt.Errorf("address %s is not in the key's from= list", addr)
	}
	return nil
}
