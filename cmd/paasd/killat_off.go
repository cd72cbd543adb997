//go:build !paastest

package main

// killAt returns nil: only a test binary stops itself at a deploy phase.
func killAt() func(app, phase string) { return nil }
