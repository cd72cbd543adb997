package faultapps

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// Hold is one connection of a connection flood: it keeps a connection to
// the router at addr open, from 127.0.0.2, with one request to app
// (APP.localhost) answered and the connection then left idle; when the
// router closes it, it opens another a second later, until ctx ends.
func Hold(ctx context.Context, addr, app string) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	for ctx.Err() == nil {
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			stop := context.AfterFunc(ctx, func() { c.Close() })
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s.localhost\r\n\r\n", app)
			io.Copy(io.Discard, c) // until the router closes it
			stop()
			c.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
