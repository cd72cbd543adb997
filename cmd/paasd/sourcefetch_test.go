package main

import (
	"slices"
	"testing"

	"paas/builder/gitfetch"
)

// TestSourceFetchCommandIgnoresTheTestSetting: a paasd built without the
// paastest tag never lets git:sync reach the loopback, whatever its
// environment says.
func TestSourceFetchCommandIgnoresTheTestSetting(t *testing.T) {
	t.Setenv(testFetchLoopbackEnv, "1")
	got := sourceFetchCommand("/usr/bin/paasd")
	want := []string{"/usr/bin/paasd", gitfetch.SourceCommand}
	if testBuild {
		want = append(want, gitfetch.AllowLoopbackFlag)
	}
	if !slices.Equal(got, want) {
		t.Errorf("sourceFetchCommand = %q, want %q", got, want)
	}
}
