package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strings"
)

// addrPatternList is the pattern list of a from= option, as sshd reads it
// with UseDNS off (its default): comma-separated entries, each an address,
// a CIDR, or a wildcard pattern (* and ?) of an address's text, any of them
// negated by a leading !. A client matches when some entry matches and no
// negated entry does.
//
// sshd would also match host names when UseDNS is on, through reverse DNS
// that whoever controls the client's address controls. paasd matches
// addresses only, and refuses an entry that can only name a host (such as
// *.example.com), rather than keep a restriction that never matches.
type addrPatternList []addrPattern

type addrPattern struct {
	negate bool
	prefix netip.Prefix // an address (full length) or a CIDR; invalid for a wildcard
	glob   string       // a wildcard pattern of the address's text, lower case
}

// parseAddrPatternList reads a from= value.
func parseAddrPatternList(s string) (addrPatternList, error) {
	var l addrPatternList
	for _, entry := range strings.Split(s, ",") {
		p := addrPattern{}
		if strings.HasPrefix(entry, "!") {
			p.negate, entry = true, entry[1:]
		}
		if entry == "" {
			return nil, errors.New("an entry is empty")
		}
		switch {
		case strings.Contains(entry, "/"):
			pf, err := netip.ParsePrefix(entry)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR", entry)
			}
			if pf.Masked() != pf {
				// sshd refuses it too ("inconsistent mask length").
				return nil, fmt.Errorf("%q has bits set beyond its mask length", entry)
			}
			if pf.Addr().Is4In6() && pf.Bits() >= 96 {
				pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
			}
			p.prefix = pf
		case isAddrText(entry):
			if a, err := netip.ParseAddr(entry); err == nil {
				a = a.Unmap()
				p.prefix = netip.PrefixFrom(a, a.BitLen())
			} else if strings.ContainsAny(entry, "*?") {
				p.glob = strings.ToLower(entry)
			} else {
				return nil, fmt.Errorf("%q is not an address", entry)
			}
		default:
			return nil, fmt.Errorf("%q names a host; paasd matches client addresses only (use addresses, CIDRs or wildcards such as 10.1.*)", entry)
		}
		l = append(l, p)
	}
	return l, nil
}

// isAddrText reports whether s is made only of what an IPv4 or IPv6
// address's text and the wildcards * and ? are made of.
func isAddrText(s string) bool {
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '.', c == ':', c == '*', c == '?':
		default:
			return false
		}
	}
	return true
}

// match reports whether addr is allowed by the list.
func (l addrPatternList) match(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	text := addr.String()
	matched := false
	for _, p := range l {
		var hit bool
		if p.glob != "" {
			// The glob holds no '/', '[' or '\\': path.Match is a plain
			// * and ? match here, and cannot fail.
			hit, _ = path.Match(p.glob, text)
		} else {
			hit = p.prefix.Contains(addr)
		}
		if hit && p.negate {
			return false
		}
		matched = matched || hit
	}
	return matched
}
