package runtime

import (
	"context"
	"fmt"
	"net"
	"time"
)

// WaitListening dials addr over TCP until a connection succeeds or ctx
// ends. It is how a caller learns that a web instance is ready.
func WaitListening(ctx context.Context, addr string) error {
	const interval = 25 * time.Millisecond
	var d net.Dialer
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		c, err := d.DialContext(attempt, "tcp", addr)
		cancel()
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to listen: %w (last error: %v)", addr, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// WaitServing is WaitListening for addresses a proxy answers on, such as
// a container's published port: the engine's proxy accepts connections
// before the process in the container listens, then closes them. A
// connection counts only when the peer neither closes nor resets it
// within a short hold (data arriving counts as served). It works for
// directly reached processes too.
func WaitServing(ctx context.Context, addr string) error {
	const interval = 25 * time.Millisecond
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := Probe(ctx, addr)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to serve: %w (last error: %v)", addr, ctx.Err(), err)
		case <-tick.C:
		}
	}
}
