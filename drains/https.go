package drains

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"

	"paas"
	"paas/logs"
)

// httpsSender POSTs each batch as Heroku's framed body: octet-counted
// RFC 5424 frames, Content-Type application/logplex-1, the message count
// and the drain token in headers. A batch is retried until the server
// answers 2xx, except on a 4xx other than 408 and 429, which drops it.
type httpsSender struct {
	target Target
	token  string
	client *http.Client
	buf    bytes.Buffer
	frames atomic.Uint64
}

// permanentError is a failure that retrying the same batch cannot fix.
type permanentError struct{ error }

func newHTTPSSender(t Target, token string, cfg *Config) *httpsSender {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: cfg.DialTimeout}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: cfg.DialTimeout,
		MaxIdleConnsPerHost: 1,
		ForceAttemptHTTP2:   true,
	}
	return &httpsSender{target: t, token: token, client: &http.Client{
		Transport: tr,
		Timeout:   cfg.WriteTimeout,
		// A redirect is an answer to fix, not to follow with the logs.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (s *httpsSender) send(ctx context.Context, batch []logs.Line) error {
	s.buf.Reset()
	var frame []byte
	for _, l := range batch {
		frame = appendFrame(frame[:0], l, s.token)
		s.buf.Write(frame)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target.Raw, bytes.NewReader(s.buf.Bytes()))
	if err != nil {
		return permanentError{fmt.Errorf("making the request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/logplex-1")
	req.Header.Set("Logplex-Msg-Count", strconv.Itoa(len(batch)))
	req.Header.Set("Logplex-Frame-Id", s.token+"-"+strconv.FormatUint(s.frames.Add(1), 10))
	req.Header.Set("Logplex-Drain-Token", s.token)
	req.Header.Set("User-Agent", "paas/"+paas.Version)
	resp, err := s.client.Do(req)
	if err != nil {
		// The *url.Error quotes the URL; the cause alone is enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("posting: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return permanentError{fmt.Errorf("the server answered %s; the batch of %d lines is dropped", resp.Status, len(batch))}
	default:
		return fmt.Errorf("the server answered %s", resp.Status)
	}
}

func (s *httpsSender) close() { s.client.CloseIdleConnections() }

var _ sender = (*httpsSender)(nil)
