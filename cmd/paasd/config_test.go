package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paas/internal/tlstest"
)

func TestACMECARoot(t *testing.T) {
	dir := t.TempDir()
	certPEM, _, _ := tlstest.SelfSigned(t, "Test CA", []string{"ca.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	good := filepath.Join(dir, "root.pem")
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(good, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(path string) (config, error) {
		env := map[string]string{"PAAS_ACME_CA_ROOT": path}
		return loadConfig(nil, func(k string) string { return env[k] }, io.Discard)
	}
	c, err := load(good)
	if err != nil || c.ACMERoots == nil {
		t.Fatalf("good root: %v, roots %v", err, c.ACMERoots)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.pem")} {
		if _, err := load(path); err == nil || !strings.HasPrefix(err.Error(), "PAAS_ACME_CA_ROOT: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line about PAAS_ACME_CA_ROOT", filepath.Base(path), err)
		}
	}
	if c, err := load(""); err != nil || c.ACMERoots != nil {
		t.Errorf("no root: %v, roots %v", err, c.ACMERoots)
	}
}

func TestSSHLimitSettings(t *testing.T) {
	load := func(env map[string]string) (config, error) {
		return loadConfig(nil, func(k string) string { return env[k] }, io.Discard)
	}
	c, err := load(nil)
	if err != nil || c.SSHHandshakeTimeout != 20*time.Second || c.SSHIdleTimeout != 10*time.Minute || c.SSHMaxUnauth != 100 || c.SSHMaxUnauthSource != 10 {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = load(map[string]string{"PAAS_SSH_HANDSHAKE_TIMEOUT": "5s", "PAAS_SSH_IDLE_TIMEOUT": "90", "PAAS_SSH_MAX_UNAUTHENTICATED": "20", "PAAS_SSH_MAX_UNAUTHENTICATED_PER_SOURCE": "3"})
	if err != nil || c.SSHHandshakeTimeout != 5*time.Second || c.SSHIdleTimeout != 90*time.Second || c.SSHMaxUnauth != 20 || c.SSHMaxUnauthSource != 3 {
		t.Fatalf("set: %+v, %v", c, err)
	}
	for env, val := range map[string]string{
		"PAAS_SSH_HANDSHAKE_TIMEOUT":              "0",
		"PAAS_SSH_IDLE_TIMEOUT":                   "-1s",
		"PAAS_SSH_MAX_UNAUTHENTICATED":            "0",
		"PAAS_SSH_MAX_UNAUTHENTICATED_PER_SOURCE": "many",
	} {
		if _, err := load(map[string]string{env: val}); err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%s=%s: %v, want an error naming it", env, val, err)
		}
	}
}
