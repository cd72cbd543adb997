package static

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
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
