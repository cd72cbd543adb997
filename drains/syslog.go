package drains

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"paas/logs"
)

// syslogSender writes octet-counted RFC 5424 frames to one TCP (or TLS)
// connection, opening a new one after any failure. A batch whose write
// failed is written again whole on the next connection: delivery is at
// least once.
type syslogSender struct {
	target       Target
	token        string
	tlsConfig    *tls.Config // nil for plain TCP
	dialTimeout  time.Duration
	writeTimeout time.Duration

	conn   net.Conn
	closed chan struct{} // closed when the receiver ends the connection
	buf    []byte
}

func newSyslogSender(t Target, token string, cfg *Config) *syslogSender {
	s := &syslogSender{target: t, token: token, dialTimeout: cfg.DialTimeout, writeTimeout: cfg.WriteTimeout}
	if t.Scheme == SchemeSyslogTLS {
		s.tlsConfig = &tls.Config{ServerName: t.Host, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return s
}

func (s *syslogSender) connect(ctx context.Context) error {
	d := &net.Dialer{Timeout: s.dialTimeout, KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	if s.tlsConfig != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig}).DialContext(ctx, "tcp", s.target.Addr())
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.target.Addr())
	}
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	s.conn = conn
	s.closed = make(chan struct{})
	// A syslog receiver never answers; a read returning means the
	// connection is gone, and the next batch goes to a new one.
	go func(conn net.Conn, closed chan struct{}) {
		io.Copy(io.Discard, conn)
		close(closed)
	}(conn, s.closed)
	return nil
}

func (s *syslogSender) send(ctx context.Context, batch []logs.Line) error {
	if s.conn != nil {
		select {
		case <-s.closed:
			s.close()
		default:
		}
	}
	if s.conn == nil {
		if err := s.connect(ctx); err != nil {
			return err
		}
	}
	s.buf = s.buf[:0]
	for _, l := range batch {
		s.buf = appendFrame(s.buf, l, s.token)
	}
	conn := s.conn
	conn.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	// Stopping the drain ends a write blocked on a stalled receiver.
	unblock := context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Unix(1, 0)) })
	_, err := conn.Write(s.buf)
	unblock()
	if err != nil {
		s.close()
		return fmt.Errorf("writing: %w", err)
	}
	if cap(s.buf) > 4<<20 {
		s.buf = nil
	}
	return nil
}

func (s *syslogSender) close() {
	if s.conn != nil {
		s.conn.Close()
		<-s.closed
		s.conn = nil
	}
}
