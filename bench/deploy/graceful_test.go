package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGracefulAppDrains checks the app the benchmark deploys: a request
// in flight when SIGTERM arrives is answered, new connections are
// refused, and the app logs the signal time and exits 0.
func TestGracefulAppDrains(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	app := exec.Command(python, "app.py")
	app.Dir = filepath.Join("..", "..", appSource)
	app.Env = append(os.Environ(), "PORT="+port, "DYNO=web.1", "PAAS_RELEASE=v7")
	out, err := app.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	app.Stderr = os.Stderr
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Process.Kill() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(prefix string) string {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("app exited before logging %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-timeout:
				t.Fatalf("app never logged %q", prefix)
			}
		}
	}
	waitLine("web.1 v7 listening")
	base := "http://127.0.0.1:" + port

	type answer struct {
		body string
		at   time.Time
		err  error
	}
	slow := make(chan answer, 1)
	go func() {
		resp, err := http.Get(base + "/?delay=2")
		if err != nil {
			slow <- answer{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- answer{string(body), time.Now(), err}
	}()
	waitLine("delaying a request")
	if err := app.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	got := waitLine("got SIGTERM at ")
	secs, err := strconv.ParseFloat(strings.TrimPrefix(got, "got SIGTERM at "), 64)
	if err != nil {
		t.Fatalf("signal time in %q: %v", got, err)
	}
	termAt := time.UnixMilli(int64(secs * 1000))
	// New connections are refused while the slow request is still being
	// served.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case a := <-slow:
		t.Fatalf("the listener closed only after the request in flight ended: %+v", a)
	default:
	}
	a := <-slow
	if a.err != nil || a.body != "ok from web.1 v7\n" {
		t.Fatalf("request in flight at SIGTERM: %q, %v", a.body, a.err)
	}
	if !a.at.After(termAt) {
		t.Errorf("answered at %v, before SIGTERM at %v", a.at, termAt)
	}
	waitLine("drained, exiting")
	if err := app.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}
