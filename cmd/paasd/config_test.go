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

func TestBuildpackPaths(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	file := filepath.Join(a, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(v string, args ...string) (config, error) {
		return loadConfig(args, func(k string) string {
			if k == "PAAS_BUILDPACK_PATHS" {
				return v
			}
			return ""
		}, io.Discard)
	}
	c, err := load("")
	if err != nil || c.BuildpackPaths != nil {
		t.Errorf("default: %q, %v", c.BuildpackPaths, err)
	}
	c, err = load(a + ":" + b + "/")
	if err != nil || len(c.BuildpackPaths) != 2 || c.BuildpackPaths[0] != a || c.BuildpackPaths[1] != b {
		t.Errorf("two paths: %q, %v", c.BuildpackPaths, err)
	}
	c, err = load(a, "-buildpack-paths", b)
	if err != nil || len(c.BuildpackPaths) != 1 || c.BuildpackPaths[0] != b {
		t.Errorf("flag: %q, %v", c.BuildpackPaths, err)
	}
	for _, bad := range []string{"relative/dir", file, filepath.Join(a, "missing")} {
		if _, err := load(bad); err == nil || !strings.HasPrefix(err.Error(), "PAAS_BUILDPACK_PATHS: ") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestContainerLimitsConfig(t *testing.T) {
	load := func(env map[string]string, args ...string) (config, error) {
		return loadConfig(args, func(k string) string { return env[k] }, io.Discard)
	}
	c, err := load(nil)
	if err != nil || c.DefaultMemory != 512<<20 || !c.HostFirewall {
		t.Errorf("defaults: memory %d, firewall %v, %v", c.DefaultMemory, c.HostFirewall, err)
	}
	c, err = load(map[string]string{"PAAS_DEFAULT_MEMORY": "0", "PAAS_HOST_FIREWALL": "off"})
	if err != nil || c.DefaultMemory != 0 || c.HostFirewall {
		t.Errorf("memory 0, firewall off: memory %d, firewall %v, %v", c.DefaultMemory, c.HostFirewall, err)
	}
	c, err = load(nil, "-default-memory", "1g")
	if err != nil || c.DefaultMemory != 1<<30 {
		t.Errorf("-default-memory 1g: %d, %v", c.DefaultMemory, err)
	}
	for env, prefix := range map[string]string{"PAAS_DEFAULT_MEMORY": "PAAS_DEFAULT_MEMORY: ", "PAAS_HOST_FIREWALL": "PAAS_HOST_FIREWALL: "} {
		if _, err := load(map[string]string{env: "lots"}); err == nil || !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("%s=lots: %v", env, err)
		}
	}
}

func TestAddonBackupsSetting(t *testing.T) {
	load := func(env map[string]string, args ...string) (config, error) {
		return loadConfig(args, func(k string) string { return env[k] }, io.Discard)
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want int
	}{
		{nil, nil, 7},
		{map[string]string{"PAAS_ADDON_BACKUPS": "0"}, nil, 0},
		{map[string]string{"PAAS_ADDON_BACKUPS": "30"}, nil, 30},
		{map[string]string{"PAAS_ADDON_BACKUPS": "30"}, []string{"-addon-backups", "2"}, 2},
	} {
		if got, err := load(c.env, c.args...); err != nil || got.AddonBackups != c.want {
			t.Errorf("%v %v: %d, %v; want %d", c.env, c.args, got.AddonBackups, err, c.want)
		}
	}
	for _, bad := range []string{"-1", "weekly", "7d"} {
		if _, err := load(map[string]string{"PAAS_ADDON_BACKUPS": bad}); err == nil || !strings.HasPrefix(err.Error(), "PAAS_ADDON_BACKUPS: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("PAAS_ADDON_BACKUPS=%s: %v", bad, err)
		}
	}
}

func TestMaxConnsPerClientSetting(t *testing.T) {
	load := func(env map[string]string) (config, error) {
		return loadConfig(nil, func(k string) string { return env[k] }, io.Discard)
	}
	if c, err := load(nil); err != nil || c.MaxConnsPerClient != 1000 {
		t.Fatalf("default: %d, %v", c.MaxConnsPerClient, err)
	}
	if c, err := load(map[string]string{"PAAS_MAX_CONNS_PER_CLIENT": "50"}); err != nil || c.MaxConnsPerClient != 50 {
		t.Fatalf("50: %d, %v", c.MaxConnsPerClient, err)
	}
	for _, bad := range []string{"0", "-3", "many"} {
		if _, err := load(map[string]string{"PAAS_MAX_CONNS_PER_CLIENT": bad}); err == nil || !strings.Contains(err.Error(), "PAAS_MAX_CONNS_PER_CLIENT") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestMetricsAddrSetting(t *testing.T) {
	load := func(env map[string]string, args ...string) (config, error) {
		return loadConfig(args, func(k string) string { return env[k] }, io.Discard)
	}
	if c, err := load(nil); err != nil || c.MetricsAddr != "" {
		t.Fatalf("default: %q, %v; want none", c.MetricsAddr, err)
	}
	for val, want := range map[string]string{"127.0.0.1:9100": "127.0.0.1:9100", ":9100": ":9100", "[::1]:0": "[::1]:0", "off": ""} {
		if c, err := load(map[string]string{"PAAS_METRICS_ADDR": val}); err != nil || c.MetricsAddr != want {
			t.Errorf("PAAS_METRICS_ADDR=%s: %q, %v; want %q", val, c.MetricsAddr, err, want)
		}
	}
	if c, err := load(map[string]string{"PAAS_METRICS_ADDR": ":9100"}, "--metrics-addr", "127.0.0.1:9200"); err != nil || c.MetricsAddr != "127.0.0.1:9200" {
		t.Errorf("flag over env: %q, %v", c.MetricsAddr, err)
	}
	for _, bad := range []string{"9100", "localhost", "127.0.0.1:", "127.0.0.1:port", "1.2.3.4:99999"} {
		_, err := load(map[string]string{"PAAS_METRICS_ADDR": bad})
		if err == nil || !strings.HasPrefix(err.Error(), "PAAS_METRICS_ADDR: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("PAAS_METRICS_ADDR=%s: %v, want one line about PAAS_METRICS_ADDR", bad, err)
		}
	}
}
