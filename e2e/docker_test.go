package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

func requireDocker(t *testing.T) *client.Client {
	t.Helper()
	if ok, why := dockerReady(); !ok {
		t.Skip("docker engine not available: " + why)
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// leftovers lists what the engine still holds for app: containers,
// images and volumes.
func leftovers(t *testing.T, cli *client.Client, app string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []string
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "paas.app="+app))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	ims, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "paas/"+app))})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range ims {
		out = append(out, "image "+strings.Join(im.RepoTags, ","))
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("name", "paas-cache-"+app))})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Volumes {
		out = append(out, "volume "+v.Name)
	}
	return out
}

// TestDockerfileApp deploys a tree with a Dockerfile: the image's own CMD
// runs as web, on the port the Dockerfile exposes.
func TestDockerfileApp(t *testing.T) {
	cli := requireDocker(t)
	s := startServer(t, "PAAS_RUNTIME=docker")
	dir := s.newRepo("dockerfile", "dockery")
	r := s.push(dir, "paas", "main")
	requireOK(t, "push", r)
	s.mustGet("dockery", "/", "dockerfile app on port 8000")

	// A Dockerfile that fails to build rejects the push; the old release
	// keeps serving.
	replaceInFile(t, dir+"/Dockerfile", "WORKDIR /srv", "WORKDIR /srv\nRUN exit 7")
	s.commitAll(dir, "broken")
	r = s.push(dir, "paas", "main")
	if r.code == 0 || !strings.Contains(r.stderr, "exit") {
		t.Fatalf("broken Dockerfile push: exit %d\n%s", r.code, r.stderr)
	}
	s.mustGet("dockery", "/", "dockerfile app on port 8000")

	requireOK(t, "destroy", s.ssh("apps:destroy dockery --confirm dockery"))
	if left := leftovers(t, cli, "dockery"); len(left) != 0 {
		t.Fatalf("destroy left %v", left)
	}
}

// TestDockerInstances checks what only containers have: limits, one-offs
// with a TTY, names and labels, and a destroy that leaves nothing.
func TestDockerInstances(t *testing.T) {
	cli := requireDocker(t)
	s := startServer(t, "PAAS_RUNTIME=docker")
	dir := s.newRepo("python", "boxed")
	requireOK(t, "push", s.push(dir, "paas", "main"))
	s.mustGet("boxed", "/", "hello one from web.1 v1")

	requireOK(t, "ps:set", s.paas(dir, "", "ps:set", "web", "memory=256m", "cpus=0.5"))
	s.mustGet("boxed", "/", "hello one from web.1")
	ctx := context.Background()
	cs, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "paas.app=boxed"), filters.Arg("label", "paas.type=web"))})
	if err != nil || len(cs) != 1 {
		t.Fatalf("web containers: %v %v", cs, err)
	}
	info, err := cli.ContainerInspect(ctx, cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.HostConfig.Memory != 256<<20 || info.HostConfig.NanoCPUs != 5e8 {
		t.Fatalf("limits: memory %d nanocpus %d", info.HostConfig.Memory, info.HostConfig.NanoCPUs)
	}
	if info.HostConfig.Init == nil || !*info.HostConfig.Init {
		t.Fatal("instance runs without an init process")
	}
	for _, pb := range info.HostConfig.PortBindings {
		for _, b := range pb {
			if b.HostIP != "127.0.0.1" {
				t.Fatalf("web port published on %q", b.HostIP)
			}
		}
	}

	// One-offs: exit status, stdin, and a TTY when ssh asks for one.
	r := s.paas(dir, "", "run", "--", "python3", "migrate.py")
	if r.code != 3 || !strings.Contains(r.stdout, "migrating v") {
		t.Fatalf("run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = s.paas(dir, "abc", "run", "--", "cat")
	if r.code != 0 || r.stdout != "abc" {
		t.Fatalf("run cat: %d %q %q", r.code, r.stdout, r.stderr)
	}
	args := append(strings.Fields(s.sshCommand())[1:], "-tt", "-p", s.port(), "paas@127.0.0.1", "run boxed -- tty")
	r = s.run("", "", "ssh", args...)
	if r.code != 0 || !strings.Contains(r.stdout, "/dev/pts/") {
		t.Fatalf("run with tty: %d %q %q", r.code, r.stdout, r.stderr)
	}

	requireOK(t, "destroy", s.ssh("apps:destroy boxed --confirm boxed"))
	if left := leftovers(t, cli, "boxed"); len(left) != 0 {
		t.Fatalf("destroy left %v", left)
	}
}
