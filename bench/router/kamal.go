package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// startKamalProxy runs kamal-proxy from PATH with its state under root,
// HTTP on a free port, and deploys the backend as service "bench" for
// host bench.localhost (kamal-proxy probes GET /up before routing, which
// the backend answers). kamal-proxy logs a line per request to its
// output, as it does by default.
func startKamalProxy(root, backend string) (*proc, error) {
	dir := filepath.Join(root, "kamal-proxy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kamal-proxy: %w", err)
	}
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	tlsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(listen)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	env := append(os.Environ(), "HOME="+dir, "XDG_RUNTIME_DIR="+dir, "XDG_STATE_HOME="+dir)
	c := exec.Command("kamal-proxy", "run", "--state-path", dir, "--http-port", port, "--https-port", tlsPort)
	c.Env = env
	p, err := startListening("kamal-proxy", c, listen)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := exec.CommandContext(ctx, "kamal-proxy", "deploy", "bench", "--state-path", dir,
		"--target", backend, "--host", benchHost)
	d.Env = env
	if out, err := d.CombinedOutput(); err != nil {
		p.stop()
		return nil, fmt.Errorf("kamal-proxy deploy: %w\n%s", err, out)
	}
	return p, nil
}
