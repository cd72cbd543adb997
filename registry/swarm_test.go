package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	registrytypes "github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"

	"paas/internal/swarmtest"
)

// TestSwarmNodesPushPull: on a swarm of two nodes, the registry served on
// the host's address of the swarm's subnet (not loopback: no engine
// skips verifying it) is refused by a node that does not trust its CA;
// one that trusts it in its own certs.d pushes an image, and the other
// node, once it trusts the CA too, pulls it. A service of an image only
// the registry has then runs a task on each node, pulled with the
// credentials the service was created with.
func TestSwarmNodesPushPull(t *testing.T) {
	if why := swarmtest.Requirement(); why != "" {
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := swarmtest.Start(ctx, swarmtest.Config{Nodes: 2, Managers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	r := startRegistry(t, t.TempDir(), s.HostIP)
	trust := func(n *swarmtest.Node) {
		d := filepath.Join(n.CertsDir(), r.cfg.Addr)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "ca.crt"), r.CACertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pusher, puller := s.Nodes[0], s.Nodes[1]
	config := t.TempDir()
	ref := r.Ref("regtest-"+randomName(t)+"/tiny", "v1")

	// Not trusted yet: the TLS handshake fails.
	out, err := dockerErr(config, "-H", puller.Host, "pull", ref)
	if err == nil || !strings.Contains(out, "certificate signed by unknown authority") {
		t.Fatalf("a pull without the CA: %v\n%s", err, out)
	}

	trust(pusher)
	login(t, r, config, "-H", pusher.Host)
	docker(t, config, "-H", pusher.Host, "import", tinyImage(t, ref), ref)
	docker(t, config, "-H", pusher.Host, "push", ref)

	trust(puller)
	docker(t, config, "-H", puller.Host, "pull", ref)
	id := func(host string) string {
		return strings.TrimSpace(docker(t, config, "-H", host, "image", "inspect", "--format", "{{.Id}}", ref))
	}
	if a, b := id(pusher.Host), id(puller.Host); a != b {
		t.Errorf("the image pulled is %s, the one pushed %s", b, a)
	}

	// A service of the registry's image, one task per node: each node
	// pulls it with the credentials the service carries.
	app := r.Ref("regtest-"+randomName(t)+"/sleeper", "v1")
	rootfs, err := swarmtest.SleeperImage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	docker(t, config, "-H", pusher.Host, "import", rootfs, app)
	docker(t, config, "-H", pusher.Host, "push", app)
	docker(t, config, "-H", pusher.Host, "image", "rm", app)
	cli, err := s.Manager()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	user, password := r.Credentials()
	auth, err := registrytypes.EncodeAuthConfig(registrytypes.AuthConfig{Username: user, Password: password, ServerAddress: r.cfg.Addr})
	if err != nil {
		t.Fatal(err)
	}
	replicas := uint64(2)
	svc, err := cli.ServiceCreate(ctx, swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "paas-regtest-sleeper"},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: app, Command: []string{"/sleeper"}},
			Placement:     &swarm.Placement{MaxReplicas: 1},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}, swarm.ServiceCreateOptions{EncodedRegistryAuth: auth, QueryRegistry: true})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Warnings != nil {
		t.Errorf("service create: %v", svc.Warnings)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
		if err != nil {
			t.Fatal(err)
		}
		on := map[string]bool{}
		var states []string
		for _, tk := range tasks {
			if tk.Status.State == swarm.TaskStateRunning {
				on[tk.NodeID] = true
			}
			states = append(states, fmt.Sprintf("%s: %s %s", tk.NodeID, tk.Status.State, tk.Status.Err))
		}
		if len(on) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks after a minute: %s", strings.Join(states, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}
	got, _, err := cli.ServiceInspectWithRaw(ctx, svc.ID, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := got.Spec.TaskTemplate.ContainerSpec.Image; !strings.HasPrefix(img, app+"@sha256:") {
		t.Errorf("the service runs %s, want %s pinned to its digest", img, app)
	}
}
