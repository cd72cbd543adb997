//go:build paastest

package main

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// killAtEnv names the deploy phase at which a test binary kills itself
// with SIGKILL: "APP:PHASE:N" is the Nth time a deploy of APP reaches
// PHASE (see deploy.Phase*).
const killAtEnv = "PAAS_TEST_KILL_AT"

// killAt returns the deploy phase hook of a test binary: nil unless
// PAAS_TEST_KILL_AT is set.
func killAt() func(app, phase string) {
	app, rest, ok1 := strings.Cut(os.Getenv(killAtEnv), ":")
	phase, count, ok2 := strings.Cut(rest, ":")
	n, err := strconv.Atoi(count)
	if !ok1 || !ok2 || err != nil || n < 1 {
		return nil
	}
	var mu sync.Mutex
	seen := 0
	return func(a, p string) {
		if a != app || p != phase {
			return
		}
		mu.Lock()
		seen++
		hit := seen == n
		mu.Unlock()
		if hit {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}
