package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// testLabel marks containers the tests make, so leftovers are findable:
// docker ps -a --filter label=paas.test=stack.
const testLabel = "paas.test"

// dockerClient returns a client of the engine, skipping the test when no
// engine answers.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Skipf("docker engine not available: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		t.Skipf("docker engine not available: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// testImage returns a fresh image name under paas-test/ and removes the
// image when the test ends.
func testImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	ref := "paas-test/stack:" + hex.EncodeToString(b)
	t.Cleanup(func() {
		_, err := cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !client.IsErrNotFound(err) {
			t.Errorf("removing test image %s: %v", ref, err)
		}
	})
	return ref
}
