package addons

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"paas/internal/dockertest"
	"paas/internal/syncbuf"
)

// randomName returns a name unique to the test, valid as an app or
// service name.
func randomName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// testEnv is what a docker test works with.
type testEnv struct {
	d     *Docker
	cli   *client.Client
	stack string
	out   *syncbuf.Buffer
}

// testDocker returns a Docker whose app networks are plain bridges the
// test makes (and removes at its end), named after the app.
func testDocker(t *testing.T) *testEnv {
	t.Helper()
	cli := dockerClient(t)
	stack := stackImage(t, cli)
	owner := randomName("owner")
	netFor := func(ctx context.Context, app string) (string, error) {
		name := "paas-addons-test-" + app
		_, err := cli.NetworkCreate(ctx, name, network.CreateOptions{
			Driver: network.NetworkBridge,
			Labels: map[string]string{labelManaged: "true", labelApp: app, "paas.test": "true"},
		})
		if err != nil && !cerrdefs.IsConflict(err) {
			return "", err
		}
		if err == nil {
			removeNetwork(t, cli, name)
		}
		return name, nil
	}
	d, err := NewDocker(DockerConfig{
		Client:     cli,
		Owner:      owner,
		StackImage: stack,
		Memory:     256 << 20,
		Network:    netFor,
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{d: d, cli: cli, stack: stack, out: &syncbuf.Buffer{}}
}

// dockerClient returns the engine's client, or skips the test.
func dockerClient(t *testing.T) *client.Client { return dockertest.Client(t) }

// stackImage returns the stack image, or skips the test.
func stackImage(t *testing.T, cli *client.Client) string { return dockertest.StackImage(t, cli) }

// removeNetwork removes the test's network net at the test's end, first
// disconnecting whatever is still attached to it (a service the test
// destroys later, in its own cleanup), so no network outlives its test:
// the engine has only some thirty address pools to give out.
func removeNetwork(t *testing.T, cli *client.Client, net string) {
	t.Helper()
	t.Cleanup(func() {
		ctx := context.Background()
		n, err := cli.NetworkInspect(ctx, net, network.InspectOptions{})
		if cerrdefs.IsNotFound(err) {
			return
		}
		if err != nil {
			t.Errorf("inspecting network %s: %v", net, err)
			return
		}
		for id := range n.Containers {
			if err := cli.NetworkDisconnect(ctx, net, id, true); err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("disconnecting %s from %s: %v", id, net, err)
			}
		}
		if err := cli.NetworkRemove(ctx, net); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("removing network %s: %v", net, err)
		}
	})
}
