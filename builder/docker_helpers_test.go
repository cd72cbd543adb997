package builder

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"

	"paas/internal/dockertest"
	"paas/internal/gittest"
	"paas/internal/netnstest"
)

// testLabel marks containers the tests make themselves.
const testLabel = "paas.test"

// dockerClient returns a client of the engine on DOCKER_HOST or the
// default socket, skipping the test when none answers.
func dockerClient(t *testing.T) *client.Client { return dockertest.Client(t) }

// dockerStack returns a client and skips the test unless the stack image
// exists.
func dockerStack(t *testing.T) *client.Client {
	t.Helper()
	cli := dockerClient(t)
	if _, err := cli.ImageInspect(t.Context(), DefaultStackImage); err != nil {
		t.Skip("stack image " + DefaultStackImage + " not available (build it with paasd stack:build)")
	}
	return cli
}

// randomApp is an app name no other test run uses.
func randomApp(t *testing.T) string {
	t.Helper()
	var b [5]byte
	must(t, func() error { _, err := rand.Read(b[:]); return err }())
	return "t-" + hex.EncodeToString(b[:])
}

// dockerBuilder makes a Docker-mode Builder of testConfig. When the test
// ends it removes the app's engine objects and checks that none are
// left.
func dockerBuilder(t *testing.T, cli *client.Client, app string, set func(*Config)) *Builder {
	t.Helper()
	cfg := testConfig(t)
	cfg.Docker, cfg.Binary = cli, staticPaasd(t)
	if set != nil {
		set(&cfg)
	}
	b, err := New(cfg)
	must(t, err)
	t.Cleanup(func() {
		if err := b.Remove(app); err != nil {
			t.Errorf("Remove(%s): %v", app, err)
		}
		checkNoLeftovers(t, cli, app)
	})
	return b
}

// checkNoLeftovers fails the test when a container, image or cache volume
// of app exists.
func checkNoLeftovers(t *testing.T, cli *client.Client, app string) {
	t.Helper()
	ctx := context.Background()
	if n := buildContainers(t, cli, app); n != 0 {
		t.Errorf("%d containers of %s left", n, app)
	}
	imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "paas/"+app+":*"))})
	must(t, err)
	if len(imgs) != 0 {
		t.Errorf("images of %s left: %v", app, imgs[0].RepoTags)
	}
	if _, err := cli.VolumeInspect(ctx, cacheVolume(app)); !errdefs.IsNotFound(err) {
		t.Errorf("volume %s left (inspect: %v)", cacheVolume(app), err)
	}
}

// buildContainers counts the containers labelled with app.
func buildContainers(t *testing.T, cli *client.Client, app string) int {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", labelApp+"="+app)),
	})
	must(t, err)
	return len(list)
}

// runImage runs argv (or the image's own command when argv is nil) in a
// new container of ref and returns its output and exit code.
func runImage(t *testing.T, cli *client.Client, ref string, argv ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	created, err := cli.ContainerCreate(ctx, &container.Config{
		Image: ref, Cmd: argv, Labels: map[string]string{testLabel: "1"},
	}, nil, nil, nil, "")
	must(t, err)
	defer cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	waitC, errC := cli.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	must(t, cli.ContainerStart(ctx, created.ID, container.StartOptions{}))
	var code int
	select {
	case w := <-waitC:
		code = int(w.StatusCode)
	case err := <-errC:
		t.Fatalf("waiting for %s: %v", ref, err)
	}
	logs, err := cli.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	must(t, err)
	defer logs.Close()
	var out bytes.Buffer
	_, err = stdcopy.StdCopy(&out, &out, logs)
	must(t, err)
	return out.String(), code
}

// imageLabelsOf returns the labels of image ref.
func imageLabelsOf(t *testing.T, cli *client.Client, ref string) map[string]string {
	t.Helper()
	insp, err := cli.ImageInspect(t.Context(), ref)
	must(t, err)
	if insp.Config == nil {
		return nil
	}
	return insp.Config.Labels
}

// paasdBinary is a static paasd built once for the tests that mount it
// into build containers (the test binary itself is not static).
var paasdBinary struct {
	once sync.Once
	dir  string
	err  error
}

// staticPaasd returns the path of a static paasd binary, building it on
// first use; TestMain removes it.
func staticPaasd(t *testing.T) string {
	t.Helper()
	paasdBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "paas-builder-paasd-")
		if err != nil {
			paasdBinary.err = err
			return
		}
		paasdBinary.dir = dir
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "paasd"), "paas/cmd/paasd")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			paasdBinary.err = fmt.Errorf("building paasd: %v\n%s", err, out)
		}
	})
	if paasdBinary.err != nil {
		t.Fatal(paasdBinary.err)
	}
	return filepath.Join(paasdBinary.dir, "paasd")
}

// gitServerRemote serves the repositories under the host directory repos
// over smart HTTP (git http-backend behind Python's CGI server) from a
// network namespace of its own, joined to the host by a veth pair: to a
// build container it is a server elsewhere on the network, reached
// through the host's routing as any outside server is, not one of the
// host's own ports (which builds cannot reach). It returns the base URL.
func gitServerRemote(t *testing.T, repos string) string {
	t.Helper()
	for _, tool := range []string{"python3", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	p := netnstest.New(t, "pg")

	// Python's CGI server runs scripts as nobody when started as root.
	cgiDir := t.TempDir()
	for _, d := range []string{cgiDir, repos, filepath.Dir(cgiDir), filepath.Dir(repos)} {
		must(t, os.Chmod(d, 0o755))
	}
	gittest.WriteFiles(t, cgiDir, map[string]string{
		"cgi-bin/git": "#!/bin/sh\nexport GIT_PROJECT_ROOT=" + repos + " GIT_HTTP_EXPORT_ALL=1\nexec git -c safe.directory='*' http-backend\n",
	})
	must(t, os.Chmod(filepath.Join(cgiDir, "cgi-bin", "git"), 0o755))
	srv := p.Command("python3", "-m", "http.server", "--cgi", "--bind", p.PeerIP, "--directory", cgiDir, "8000")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	addr := net.JoinHostPort(p.PeerIP, "8000")
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the git server does not listen: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + addr + "/cgi-bin/git"
}
