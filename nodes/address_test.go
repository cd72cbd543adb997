package nodes

import (
	"errors"
	"strings"
	"testing"

	"paas"
)

// TestParseAddress: the two forms nodes:add takes, and one user-facing
// line for everything else, an option in the user or host of an ssh
// address included.
func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, socket, ssh string }{
		{"/run/docker.sock", "/run/docker.sock", ""},
		{"unix:///var/run/docker.sock", "/var/run/docker.sock", ""},
		{"ssh://root@node1.example.com", "", "ssh://root@node1.example.com"},
		{"ssh://deploy@10.0.0.7:2222", "", "ssh://deploy@10.0.0.7:2222"},
		{"ssh://root@[fd00::7]:22", "", "ssh://root@[fd00::7]:22"},
		{"ssh://root@node1/", "", "ssh://root@node1"},
	} {
		a, err := parseAddress(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		got := ""
		if a.ssh != nil {
			got = a.ssh.String()
		}
		if a.socket != tc.socket || got != tc.ssh {
			t.Errorf("%q: socket %q, ssh %q; want %q, %q", tc.in, a.socket, got, tc.socket, tc.ssh)
		}
	}
	for _, in := range []string{
		"", "node1", "tcp://10.0.0.7:2375", "docker.sock", "unix://docker.sock", "/run/../etc/docker.sock", "/run/docker.sock/",
		"ssh://node1", "ssh://-oProxyCommand=touch@node1", "ssh://root@-oProxyCommand=x", "ssh://root:secret@node1",
		"ssh://root@node1:0", "ssh://root@node1:99999", "ssh://root@node1:", "ssh://root@node1/run/docker.sock",
		"ssh://root@node1?x=1", "ssh://root@node1#x", "ssh://root@no de", "ssh://root@node1;id", "ssh://Root Name@node1",
		"ssh://root@[::1%eth0]", "unix:///run/docker.sock\nx",
	} {
		_, err := parseAddress(in)
		var pe *paas.Error
		if !errors.As(err, &pe) || strings.Contains(pe.Msg, "\n") || !strings.HasPrefix(pe.Msg, "invalid node address") {
			t.Errorf("%q: %v, want one user-facing line", in, err)
		}
	}
}

// TestDefaultName: a node is named after its host, made a valid name,
// with -2, -3... for a name taken, within 30 characters.
func TestDefaultName(t *testing.T) {
	long := strings.Repeat("a", 40)
	for _, tc := range []struct {
		host  string
		taken []string
		want  string
	}{
		{"worker1", nil, "worker1"},
		{"Worker1.example.com", nil, "worker1"},
		{"box", []string{"box"}, "box-2"},
		{"box", []string{"box", "box-2", "box-3"}, "box-4"},
		{"", nil, "node"},
		{"", []string{"node"}, "node-2"},
		{"9lives", nil, "u9lives"},
		{long, nil, strings.Repeat("a", 30)},
		{long, []string{strings.Repeat("a", 30)}, strings.Repeat("a", 28) + "-2"},
		{"my_host", nil, "my-host"},
	} {
		taken := map[string]bool{}
		for _, n := range tc.taken {
			taken[n] = true
		}
		got := defaultName(tc.host, taken)
		if got != tc.want || validateName(got) != nil {
			t.Errorf("defaultName(%q, %v) = %q, want %q", tc.host, tc.taken, got, tc.want)
		}
	}
}
