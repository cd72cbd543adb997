package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// isolatedLoopback makes a network namespace with nothing but a loopback
// interface, in which 127.0.0.1:port is forwarded to target (an address
// on the host). It returns the namespace's path, for nsenter --net.
//
// A browser run there sees no other interface: Chromium drops every
// request in flight when the host's interfaces change (ERR_NETWORK_CHANGED),
// as they do whenever a test elsewhere on the machine starts or removes a
// container. Its own namespace keeps it out of that.
func isolatedLoopback(t *testing.T, port, target string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace (CLONE_NEWNET) for the browser")
	}
	type made struct {
		ln   net.Listener
		path string
		err  error
	}
	ready := make(chan made, 1)
	done := make(chan struct{})
	go func() {
		// The thread is never unlocked: it ends with this goroutine, and
		// its namespace lives on while the listener and the browser use it.
		runtime.LockOSThread()
		fail := func(what string, err error) { ready <- made{err: fmt.Errorf("%s: %w", what, err)} }
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			fail("unshare", err)
			return
		}
		if err := loopbackUp(); err != nil {
			fail("bringing lo up", err)
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			fail("listening", err)
			return
		}
		ready <- made{ln: ln, path: fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())}
		<-done
	}()
	m := <-ready
	if m.err != nil {
		t.Fatalf("isolated network namespace: %v", m.err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		m.ln.Close()
		wg.Wait()
		close(done)
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := m.ln.Accept()
			if err != nil {
				return
			}
			go forward(c, target)
		}
	}()
	return m.path
}

// loopbackUp sets the lo interface of the calling thread's namespace up.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// forward carries c to target and back.
func forward(c net.Conn, target string) {
	defer c.Close()
	u, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer u.Close()
	go func() {
		io.Copy(u, c)
		u.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(c, u)
}
