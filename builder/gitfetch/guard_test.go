package gitfetch

import (
	"net/netip"
	"testing"
)

func TestDeniedKind(t *testing.T) {
	for _, tc := range []struct {
		addr, strict, loopbackOK string
	}{
		{"127.0.0.1", "loopback", ""},
		{"127.1.2.3", "loopback", ""},
		{"::1", "loopback", ""},
		{"::ffff:127.0.0.1", "loopback", ""},
		{"0.0.0.0", "unspecified", "unspecified"},
		{"0.1.2.3", "unspecified", "unspecified"},
		{"::", "unspecified", "unspecified"},
		{"::ffff:0.0.0.0", "unspecified", "unspecified"},
		{"169.254.169.254", "link-local", "link-local"},
		{"::ffff:169.254.169.254", "link-local", "link-local"},
		{"fe80::1", "link-local", "link-local"},
		{"fe80::1%eth0", "link-local", "link-local"},
		{"224.0.0.1", "multicast", "multicast"},
		{"239.255.255.250", "multicast", "multicast"},
		{"ff02::1", "multicast", "multicast"},
		{"255.255.255.255", "reserved", "reserved"},
		{"100.100.100.200", "cloud metadata", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata", "cloud metadata"},
		// IPv6 forms that carry a denied IPv4 address.
		{"::7f00:1", "loopback", "loopback"},
		{"64:ff9b::7f00:1", "loopback", "loopback"},
		{"64:ff9b::a9fe:a9fe", "link-local", "link-local"},
		// Anything else is another host: allowed.
		{"93.184.215.14", "", ""},
		{"10.1.2.3", "", ""},
		{"172.17.0.1", "", ""},
		{"192.168.1.10", "", ""},
		{"100.64.0.1", "", ""},
		{"2001:db8::1", "", ""},
		{"fd12:3456::1", "", ""},
		{"::ffff:93.184.215.14", "", ""},
		{"64:ff9b::5db8:d70e", "", ""},
	} {
		a := netip.MustParseAddr(tc.addr)
		if got := deniedKind(a, false); got != tc.strict {
			t.Errorf("%s: %q, want %q", tc.addr, got, tc.strict)
		}
		if got := deniedKind(a, true); got != tc.loopbackOK {
			t.Errorf("%s with loopback allowed: %q, want %q", tc.addr, got, tc.loopbackOK)
		}
	}
}

func TestControl(t *testing.T) {
	p := &policy{}
	for addr, ok := range map[string]bool{
		"127.0.0.1:443":             false,
		"[::1]:22":                  false,
		"[::ffff:127.0.0.1]:80":     false,
		"169.254.169.254:80":        false,
		"[fe80::1%lo]:80":           false,
		"0.0.0.0:80":                false,
		"93.184.215.14:443":         true,
		"[2001:db8::1]:443":         true,
		"not an address":            false,
		"[::ffff:169.254.1.1]:8080": false,
	} {
		err := p.control("tcp4", addr, nil)
		if (err == nil) != ok {
			t.Errorf("%s: %v, want allowed %v", addr, err, ok)
		}
	}
	if err := p.control("udp4", "93.184.215.14:53", nil); err == nil {
		t.Error("a UDP connection was allowed")
	}
}
