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
