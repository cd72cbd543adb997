// Package paasd starts a real paasd for the benchmark programs and drives
// it the way a user does: over SSH with a key of its own, with git pushes,
// and through the router on its HTTP address. Each server listens on
// loopback ports chosen by the kernel, keeps its state under its own
// directory and has no HTTPS listener, so benchmarks never collide with
// each other or with a paasd on the default ports.
package paasd
