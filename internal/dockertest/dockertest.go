// Package dockertest gives tests the Docker engine and the stack image,
// or skips them, saying which is missing.
package dockertest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// DefaultStackImage is the stack image when PAAS_STACK_IMAGE names none.
const DefaultStackImage = "paas/stack:bookworm"

// Client returns a client of the engine named by DOCKER_HOST or the
// default socket, closed when the test ends, or skips the test when no
// engine answers.
func Client(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Skipf("docker engine not available: %v", oneLine(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		t.Skipf("docker engine not available: %v", oneLine(err))
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// StackImage returns the stack image (PAAS_STACK_IMAGE, else
// DefaultStackImage), or skips the test when the engine lacks it.
func StackImage(t testing.TB, cli *client.Client) string {
	t.Helper()
	ref := os.Getenv("PAAS_STACK_IMAGE")
	if ref == "" {
		ref = DefaultStackImage
	}
	if _, err := cli.ImageInspect(context.Background(), ref); err != nil {
		t.Skipf("stack image %s needed (paasd stack:build makes it): %v", ref, oneLine(err))
	}
	return ref
}

func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
