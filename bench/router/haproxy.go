package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// haproxyConfig is HAProxy's configuration: HTTP mode, one thread per
// core (its default), idle backend connections shared by all clients
// (http-reuse always), X-Forwarded-For added, nothing logged.
func haproxyConfig(listen, backend string) string {
	return fmt.Sprintf(`global
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 30s
  timeout http-keep-alive 120s
  http-reuse always
  option forwardfor
frontend bench
  bind %s
  default_backend app
backend app
  server web1 %s
`, listen, backend)
}

// startHAProxy runs HAProxy in the foreground with its configuration in a
// directory under root.
func startHAProxy(root, backend string) (*proc, error) {
	dir := filepath.Join(root, "haproxy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(conf, []byte(haproxyConfig(listen, backend)), 0o644); err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	return startListening("haproxy", exec.Command("haproxy", "-db", "-f", conf), listen)
}
