package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// probeHold is how long a probe connection must stay open, without the
// peer closing it, to count as served.
const probeHold = 100 * time.Millisecond

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

// Probe connects to addr once and reports whether the connection is held
// open or answered.
func Probe(ctx context.Context, addr string) error {
	var d net.Dialer
	attempt, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := d.DialContext(attempt, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(probeHold)); err != nil {
		return err
	}
	_, err = c.Read(make([]byte, 1))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return fmt.Errorf("connection closed by peer: %w", err)
}
