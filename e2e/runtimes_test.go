package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// stackImage is the stack the docker runtime tests build and run on.
func stackImage() string {
	if v := os.Getenv("PAAS_STACK_IMAGE"); v != "" {
		return v
	}
	return "paas/stack:bookworm"
}

// dockerReady reports whether a Docker engine answers and has the stack
// image, and why not.
func dockerReady() (bool, string) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return false, err.Error()
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		return false, "no engine answers: " + err.Error()
	}
	if _, err := cli.ImageInspect(ctx, stackImage()); err != nil {
		return false, "stack image " + stackImage() + " missing (paasd stack:build makes it): " + err.Error()
	}
	return true, ""
}

// forEachRuntime runs f as a subtest on the exec runtime and on the docker
// runtime. Without a Docker engine and stack image the docker subtest
// skips with the reason; CI has both.
func forEachRuntime(t *testing.T, f func(t *testing.T, rt string)) {
	t.Run("exec", func(t *testing.T) { f(t, "exec") })
	t.Run("docker", func(t *testing.T) {
		if ok, why := dockerReady(); !ok {
			t.Skip("docker engine not available: " + why)
		}
		f(t, "docker")
	})
}
