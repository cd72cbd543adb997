package main

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// hogCore is the core the hog spins on in the loaded cells.
const hogCore = 0

// loadedTargets are the targets measured with the hog running: the
// backend, the router and the proxies it is held against.
var loadedTargets = map[string]bool{"direct": true, "router": true, "nginx": true, "nginx-headers": true, "haproxy": true}

// runHog is the hog role: one thread pinned to core cpu, spinning until
// the process is killed, as a busy neighbour on the machine would. It
// prints the core on stdout once pinned.
func runHog(cpu int) error {
	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pinning to core %d: %w", cpu, err)
	}
	fmt.Fprintf(os.Stdout, "core %d\n", cpu)
	for {
	}
}
