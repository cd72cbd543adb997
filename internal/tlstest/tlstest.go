// Package tlstest helps tests of HTTPS front doors: it reaches one
// listener under any server name, the way a front door serving many hosts
// is reached, and makes self-signed certificates. Test code only.
package tlstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Get fetches url over a connection to addr, whatever url's host (which
// is still the TLS server name and the Host header), trusting roots and
// preferring HTTP/2. It returns the response, its body read and closed,
// and the body. Each call uses a new connection.
func Get(addr, url string, roots *x509.CertPool, timeout time.Duration) (*http.Response, string, error) {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("reading the body of %s: %w", url, err)
	}
	return resp, string(body), nil
}
