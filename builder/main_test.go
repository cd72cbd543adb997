package builder

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"paas/builder/gitfetch"
)

// TestMain lets the test binary stand in for paasd as the fetch command
// (Config.Binary): run as `buildpack:fetch`, it first prints the
// environment it got, which the tests check is empty, then fetches.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == gitfetch.Command {
		fmt.Printf("fetch environment: [%s]\n", strings.Join(os.Environ(), " "))
		gitfetch.Exit(os.Args)
	}
	code := m.Run()
	if paasdBinary.dir != "" {
		os.RemoveAll(paasdBinary.dir)
	}
	os.Exit(code)
}
