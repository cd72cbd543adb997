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
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
)

// testLabel marks containers the tests make themselves.
const testLabel = "paas.test"

// dockerClient returns a client of the engine on DOCKER_HOST or the
// default socket, skipping the test when none answers.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Skip("docker engine not available: " + err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		t.Skip("docker engine not available: " + oneLine(err.Error()))
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

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

// dockerBuilder makes a Docker-mode Builder in a temporary data dir. When
// the test ends it removes the app's engine objects and checks that none
// are left.
func dockerBuilder(t *testing.T, cli *client.Client, app string, set func(*Config)) *Builder {
	t.Helper()
	data := t.TempDir()
	server := filepath.Join(data, "static-server")
	must(t, os.WriteFile(server, []byte("#!/bin/sh\necho static server \"$@\"\n"), 0o755))
	vetted := filepath.Join(data, "vetted")
	must(t, os.Mkdir(vetted, 0o755))
	cfg := Config{
		BuildpacksDir:  filepath.Join(data, "buildpacks"),
		CacheDir:       filepath.Join(data, "cache"),
		SlugsDir:       filepath.Join(data, "slugs"),
		StaticServer:   server,
		Docker:         cli,
		Binary:         staticPaasd(t),
		BuildpackPaths: []string{vetted},
	}
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

// gitServerContainer serves the repositories under the host directory
// repos over smart HTTP from a container of the stack image (git
// http-backend behind Python's CGI server), removed when the test ends.
// It returns the base URL, on the container's own address.
func gitServerContainer(t *testing.T, cli *client.Client, repos string) string {
	t.Helper()
	ctx := t.Context()
	cgiDir := t.TempDir()
	writeFiles(t, cgiDir, map[string]string{
		"cgi-bin/git": "#!/bin/sh\nexport GIT_PROJECT_ROOT=/repos GIT_HTTP_EXPORT_ALL=1\nexec git -c safe.directory='*' http-backend\n",
	})
	must(t, os.Chmod(filepath.Join(cgiDir, "cgi-bin", "git"), 0o755))
	created, err := cli.ContainerCreate(ctx, &container.Config{
		Image:  DefaultStackImage,
		Cmd:    []string{"python3", "-m", "http.server", "--cgi", "--directory", "/srv", "8000"},
		Labels: map[string]string{testLabel: "1"},
	}, &container.HostConfig{
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: cgiDir, Target: "/srv", ReadOnly: true},
			{Type: mount.TypeBind, Source: repos, Target: "/repos", ReadOnly: true},
		},
	}, nil, nil, "")
	must(t, err)
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	must(t, cli.ContainerStart(ctx, created.ID, container.StartOptions{}))
	insp, err := cli.ContainerInspect(ctx, created.ID)
	must(t, err)
	ip := ""
	for _, n := range insp.NetworkSettings.Networks {
		if n.IPAddress != "" {
			ip = n.IPAddress
			break
		}
	}
	if ip == "" {
		t.Fatal("the git server container has no address")
	}
	addr := net.JoinHostPort(ip, "8000")
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the git server container does not listen: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + addr + "/cgi-bin/git"
}
