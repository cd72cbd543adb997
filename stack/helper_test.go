package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"paas/internal/dockertest"
)

// testLabel marks containers the tests make, so leftovers are findable:
// docker ps -a --filter label=paas.test=stack.
const testLabel = "paas.test"

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

// dockerClient returns the engine's client, or skips the test.
func dockerClient(t *testing.T) *client.Client { return dockertest.Client(t) }
