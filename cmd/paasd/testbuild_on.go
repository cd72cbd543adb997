//go:build paastest

package main

// testBuild reports a binary built with the paastest tag: only the
// end-to-end tests build one.
const testBuild = true
