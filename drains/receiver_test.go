package drains

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"paas/internal/syslogtest"
)

// message is one parsed RFC 5424 message.
type message = syslogtest.Message

// readFrame reads one octet-counted frame and parses it strictly.
func readFrame(r *bufio.Reader) (message, error) { return syslogtest.ReadFrame(r) }

// parseMessage parses one RFC 5424 SYSLOG-MSG strictly.
func parseMessage(s string) (message, error) { return syslogtest.Parse(s) }

// receiver is a syslog receiver on loopback that records what it parses;
// a malformed frame fails the test.
type receiver struct {
	t  *testing.T
	ln net.Listener

	mu    sync.Mutex
	msgs  []message
	conns int // accepted so far
	live  []net.Conn
}

func newReceiver(t *testing.T, tlsConfig *tls.Config) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	r := &receiver{t: t, ln: ln}
	startReceiver(t, r)
	return r
}

// startReceiver serves r.ln until the test ends.
func startReceiver(t *testing.T, r *receiver) {
	ln := r.ln
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		r.closeConns()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns++
			r.live = append(r.live, c)
			r.mu.Unlock()
			wg.Go(func() { r.serve(c) })
		}
	})
}

// closeConns closes the connections open now.
func (r *receiver) closeConns() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.live {
		c.Close()
	}
	r.live = nil
}

// accepted returns how many connections were accepted.
func (r *receiver) accepted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

func (r *receiver) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		m, err := readFrame(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "connection reset") && !strings.Contains(err.Error(), "closed network connection") && !strings.Contains(err.Error(), "tls: ") {
				r.t.Errorf("receiver: %v", err)
			}
			return
		}
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	}
}

// port is the receiver's port.
func (r *receiver) port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// messages returns what arrived so far.
func (r *receiver) messages() []message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]message(nil), r.msgs...)
}

// waitFor polls until cond holds for the messages, failing after 10 s.
func (r *receiver) waitFor(what string, cond func([]message) bool) []message {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms := r.messages()
		if cond(ms) {
			return ms
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for %s: %d messages arrived", what, len(ms))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testCA is a CA and a server certificate it signed for 127.0.0.1.
type testCA struct {
	pool   *x509.CertPool
	server tls.Certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "drains test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testCA{pool: pool, server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

func (c testCA) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.server}, MinVersion: tls.VersionTLS12}
}
