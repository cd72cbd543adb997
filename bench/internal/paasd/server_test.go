package paasd

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakePaasd writes a script that records its arguments and environment
// in dir and then prints record as its log, and returns its path.
func fakePaasd(t *testing.T, dir, record string) string {
	t.Helper()
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + dir + "/args\nenv > " + dir + "/env\necho '" + record + "'\nexec sleep 60\n"
	bin := filepath.Join(dir, "fake-paasd")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestStartWithoutHTTPS(t *testing.T) {
	dir := passableTempDir(t)
	bin := fakePaasd(t, dir, `{"msg":"listening","ssh":"127.0.0.1:1","http":"127.0.0.1:2"}`)
	s, err := Start(Config{Binary: bin, Dir: filepath.Join(dir, "srv"), Runtime: "exec", Env: []string{"PAAS_STOP_TIMEOUT=3s", "EXTRA=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.SSHPort != "1" || s.HTTPAddr != "127.0.0.1:2" {
		t.Errorf("SSHPort %q, HTTPAddr %q", s.SSHPort, s.HTTPAddr)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if strings.TrimSpace(string(args)) != "" {
		t.Errorf("arguments %q, want none", args)
	}
	envText, _ := os.ReadFile(filepath.Join(dir, "env"))
	env := strings.Split(string(envText), "\n")
	for _, want := range []string{"PAAS_HTTPS_ADDR=off", "PAAS_RUNTIME=exec", "PAAS_STOP_TIMEOUT=3s", "EXTRA=1", "PAAS_SSH_ADDR=127.0.0.1:0", "HOME=" + s.Dir} {
		if !slices.Contains(env, want) {
			t.Errorf("paasd's environment lacks %s:\n%s", want, envText)
		}
	}
	if slices.Contains(env, "PAAS_STOP_TIMEOUT=10s") {
		t.Error("Config.Env did not win over the default PAAS_STOP_TIMEOUT")
	}
	// Nothing answers SSH on port 1: Stop says so and still ends paasd.
	if err := s.Stop(); err == nil || !strings.Contains(err.Error(), "ssh apps") {
		t.Errorf("Stop = %v, want the failed apps listing", err)
	}
	select {
	case <-s.exited:
	default:
		t.Error("paasd still runs after Stop")
	}
}

func TestStartRefusesHTTPSListener(t *testing.T) {
	dir := passableTempDir(t)
	bin := fakePaasd(t, dir, `{"msg":"listening","ssh":"127.0.0.1:1","http":"127.0.0.1:2","https":"[::]:8443"}`)
	_, err := Start(Config{Binary: bin, Dir: filepath.Join(dir, "srv"), Runtime: "exec"})
	if err == nil || !strings.Contains(err.Error(), "HTTPS") {
		t.Fatalf("Start = %v, want a refusal of the HTTPS listener", err)
	}
}

func TestStartReportsEarlyExit(t *testing.T) {
	dir := passableTempDir(t)
	bin := filepath.Join(dir, "fake-paasd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'paasd: bad config' >&2\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(Config{Binary: bin, Dir: filepath.Join(dir, "srv"), Runtime: "exec"})
	if err == nil || !strings.Contains(err.Error(), "exited before listening") || !strings.Contains(err.Error(), "bad config") {
		t.Fatalf("Start = %v, want the exit and paasd's output", err)
	}
}

// TestRealPaasd builds paasd and drives it over SSH and HTTP.
func TestRealPaasd(t *testing.T) {
	ctx := context.Background()
	dir := passableTempDir(t)
	t.Chdir("../../..")
	bin, err := build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(Config{Binary: bin, Dir: filepath.Join(dir, "srv"), Runtime: "exec"})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Stop()
		}
	})
	if _, err := s.SSH(ctx, "apps:create bench-a"); err != nil {
		t.Fatal(err)
	}
	if out, err := s.SSH(ctx, "apps"); err != nil || !strings.Contains(out, "\nbench-a ") {
		t.Fatalf("apps = %q, %v", out, err)
	}
	if _, err := s.SSH(ctx, "no-such-command"); err == nil || !strings.Contains(err.Error(), "no-such-command") {
		t.Errorf("a failing command's error: %v", err)
	}
	req, _ := http.NewRequest("GET", "http://"+s.HTTPAddr+"/", nil)
	req.Host = "bench-a.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the router does not answer: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if strings.Contains(s.Tail(), `"https"`) {
		t.Errorf("paasd listens for HTTPS:\n%s", s.Tail())
	}
	stopped = true
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// Stop destroyed the app: a new paasd on the same data dir has none.
	s2, err := Start(Config{Binary: bin, Dir: s.Dir, Runtime: "exec"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s2.SSH(ctx, "apps")
	if stopErr := s2.Stop(); stopErr != nil {
		t.Error(stopErr)
	}
	if err != nil || out != "" {
		t.Errorf("apps after Stop = %q, %v; want none", out, err)
	}
}

// passableTempDir is a test temp dir that a root paasd's apps, running as
// users of their own, can pass through (the test's dirs are 0700).
func passableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
