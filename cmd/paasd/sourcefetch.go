package main

import (
	"os"

	"paas/builder/gitfetch"
)

// testFetchLoopbackEnv, in a paasd built with the paastest tag (the
// end-to-end tests' build), lets git:sync fetch from the host's loopback
// addresses, where the tests' git servers listen. Any other paasd ignores it.
const testFetchLoopbackEnv = "PAAS_TEST_FETCH_LOOPBACK"

// sourceFetchCommand is the argv git:sync runs to fetch an app's source:
// `paasd source:fetch`, as a child process with no environment.
func sourceFetchCommand(exe string) []string {
	argv := []string{exe, gitfetch.SourceCommand}
	if testBuild && os.Getenv(testFetchLoopbackEnv) == "1" {
		argv = append(argv, gitfetch.AllowLoopbackFlag)
	}
	return argv
}
