package static

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"paas/internal/ports"
)

// TestMain lets a test run this test binary as the static server, as the
// static buildpack installs paasd in a slug: with PAAS_STATIC_TEST_SERVE
// set, it is Main on its arguments.
func TestMain(m *testing.M) {
	if os.Getenv("PAAS_STATIC_TEST_SERVE") != "" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestRunShutsDownOnCancel(t *testing.T) {
	dir := site(t, false)
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan net.Addr, 1)
	done := make(chan int, 1)
	var logs syncWriter
	go func() { done <- run(ctx, []string{dir}, "127.0.0.1:0", &logs, func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case code := <-done:
		t.Fatalf("run returned %d before serving", code)
	}
	resp, err := http.Get("http://" + addr.String() + "/notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "notes" {
		t.Errorf("got %q", body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunErrors(t *testing.T) {
	var logs syncWriter
	if code := run(t.Context(), []string{filepath.Join(t.TempDir(), "missing")}, "127.0.0.1:0", &logs, nil); code != 1 {
		t.Errorf("missing dir: exit status %d, want 1", code)
	}
	if code := run(t.Context(), []string{"a", "b"}, "127.0.0.1:0", &logs, nil); code != 2 {
		t.Errorf("two args: exit status %d, want 2", code)
	}
}

// TestMainSIGTERM runs Main as paas-static runs it: PORT from the
// environment, stopped by SIGTERM.
func TestMainSIGTERM(t *testing.T) {
	port := freePort(t)
	t.Setenv("PORT", strconv.Itoa(port))
	dir := site(t, false)
	done := make(chan int, 1)
	go func() { done <- Main([]string{dir}) }()

	// Main has installed its signal handler before it accepts requests.
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("Main returned %d", code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never answered: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Main did not return after SIGTERM")
	}
}

func TestMainBadPort(t *testing.T) {
	t.Setenv("PORT", "http")
	if code := Main(nil); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
}

// TestSlugRootSite serves a slug laid out as the static buildpack leaves
// it, from its root (the site has index.html there): the server, run
// from the slug's bin/paas-static, does not serve that file, nor the
// slug's dotfiles; .well-known is served.
func TestSlugRootSite(t *testing.T) {
	slug := t.TempDir()
	for name, body := range map[string]string{
		"index.html":               "<h1>root</h1>",
		"bin/tool.txt":             "a file of the site",
		".profile.d/static.sh":     "export PATH=\"$HOME/bin:$PATH\"\n",
		".env":                     "SECRET=1",
		".well-known/security.txt": "Contact: mailto:security@example.com",
	} {
		p := filepath.Join(slug, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	server := filepath.Join(slug, "bin", "paas-static")
	if err := os.WriteFile(server, bin, 0o755); err != nil {
		t.Fatal(err)
	}

	port := strconv.Itoa(freePort(t))
	var logs syncWriter
	cmd := exec.Command(server, ".")
	cmd.Dir = slug
	cmd.Env = append(os.Environ(), "PORT="+port, "PAAS_STATIC_TEST_SERVE=1")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})

	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never answered: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for path, want := range map[string]int{
		"/":                         200,
		"/bin/tool.txt":             200,
		"/.well-known/security.txt": 200,
		"/bin/paas-static":          404,
		"/bin/../bin/paas-static":   404,
		"/.profile.d/static.sh":     404,
		"/.env":                     404,
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || want == 404 && len(body) > 100 {
			t.Errorf("GET %s: %d, %d bytes; want %d", path, resp.StatusCode, len(body), want)
		}
	}
}

// freePort returns a port free on every address for a server that reads
// it from PORT (see ports.Pick).
func freePort(t *testing.T) int {
	t.Helper()
	p, err := ports.Pick("127.0.0.1", func(int) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	return p
}
