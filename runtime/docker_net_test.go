package runtime

import (
	"errors"
	"testing"
)

// The engine says it has run out of address pools only in words; both of
// its wordings are recognised, and nothing else is.
func TestPoolsExhausted(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"Error response from daemon: could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network", true},
		{"Error response from daemon: all predefined address pools have been fully subnetted", true},
		{"Error response from daemon: network with name paas-x already exists", false},
		{"Cannot connect to the Docker daemon at unix:///var/run/docker.sock", false},
	} {
		if got := poolsExhausted(errors.New(tc.msg)); got != tc.want {
			t.Errorf("poolsExhausted(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}
