package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
)

// caddyConfig is a Caddyfile serving plain HTTP for any host on listen's
// port, bound to its address, with reverse_proxy to backend: no admin
// endpoint, no automatic HTTPS, no access log (Caddy's default).
func caddyConfig(listen, backend string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("caddy: %w", err)
	}
	return fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
}
http://:%s {
	bind %s
	reverse_proxy %s
}
`, port, host, backend), nil
}

// startCaddy runs caddy from PATH in the foreground, its data and config
// directories under root.
func startCaddy(root, backend string) (*proc, error) {
	dir := filepath.Join(root, "caddy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("caddy: %w", err)
	}
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	text, err := caddyConfig(listen, backend)
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("caddy: %w", err)
	}
	c := exec.Command("caddy", "run", "--config", conf, "--adapter", "caddyfile")
	c.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	return startListening("caddy", c, listen)
}
