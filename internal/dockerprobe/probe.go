// Package dockerprobe tells whether a Docker engine is going away.
//
// A stopping dockerd closes its listener at once but goes on serving the
// connections it has (a build's output, the event stream, and the idle
// connections a client keeps for reuse) while it stops its containers,
// for ten seconds or more. A call that happens to reuse one of those
// connections succeeds; only a new connection shows the engine leaving.
package dockerprobe

import (
	"context"
	"net"
	"time"
)

// Timeout bounds the probe's dial.
const Timeout = 2 * time.Second

// Accepts reports whether the engine takes a new connection, dialled
// with dial (client.Client's Dialer), within Timeout.
func Accepts(ctx context.Context, dial func(context.Context) (net.Conn, error)) bool {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
