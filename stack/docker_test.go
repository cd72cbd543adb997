package stack

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// TestDockerStackBuild bootstraps a real stack (about two minutes) into a
// test tag and checks what builds and instances rely on.
func TestDockerStackBuild(t *testing.T) {
	cli := dockerClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	ref := testImage(t, cli)

	var out bytes.Buffer
	o := Options{Image: ref, WorkDir: t.TempDir(), Out: &out}
	if err := Ensure(ctx, cli, o); err != nil {
		t.Fatalf("Ensure: %v\nprogress:\n%s", err, out.String())
	}
	t.Logf("progress:\n%s", out.String())
	for _, want := range []string{
		"-----> Stack image " + ref + " not found: building it (a few minutes, once)",
		"-----> Bootstrapping Debian bookworm from ",
		"-----> Stack image " + ref + " ready",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q", want)
		}
	}
	if n := strings.Count(out.String(), "\n"); n > 120 {
		t.Errorf("progress floods: %d lines", n)
	}
	if left, _ := os.ReadDir(o.WorkDir); len(left) != 0 {
		t.Errorf("scratch left in the work directory: %v", left)
	}

	info, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.Config
	if cfg.WorkingDir != "/app" || !slices.Equal(cfg.Cmd, []string{"bash"}) || cfg.Labels[LabelKey] != Suite || cfg.Labels[LabelUser] != User ||
		!slices.Contains(cfg.Env, "LANG=C.UTF-8") ||
		!slices.Contains(cfg.Env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") {
		t.Errorf("image config: workdir %q cmd %q labels %v env %q", cfg.WorkingDir, cfg.Cmd, cfg.Labels, cfg.Env)
	}

	code, stdout, stderr := runIn(ctx, t, cli, ref,
		"python3 --version && node --version && npm --version && git --version && curl --version && test -s /etc/ssl/certs/ca-certificates.crt && python3 -m venv /tmp/v && pwd && id -u && id paas && stat -c %u:%g /app")
	if code != 0 {
		t.Fatalf("tools check exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Python 3.11", "git version", "curl ", "/app\n0\nuid=1000(paas) gid=1000(paas) groups=1000(paas)\n1000:1000\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("tools output lacks %q:\n%s", want, stdout)
		}
	}

	host, err := os.ReadFile(DefaultCABundle)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileFrom(ctx, t, cli, ref, "/etc/ssl/certs/ca-certificates.crt"); !bytes.Equal(got, host) {
		t.Errorf("image CA bundle (%d bytes) differs from the host's (%d bytes)", len(got), len(host))
	}

	if ok, err := Exists(ctx, cli, ref); err != nil || !ok {
		t.Errorf("Exists = %v, %v after the build", ok, err)
	}
	if ok, err := Exists(ctx, cli, ref+"-missing"); err != nil || ok {
		t.Errorf("Exists = %v, %v for a missing image", ok, err)
	}

	before := info.ID
	out.Reset()
	start := time.Now()
	if err := Ensure(ctx, cli, o); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second || out.Len() != 0 {
		t.Errorf("second Ensure took %s and said %q", took, out.String())
	}
	if err := Build(ctx, cli, o); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "-----> Stack image "+ref+" already present" {
		t.Errorf("Build of a present image said %q", got)
	}
	if after, err := cli.ImageInspect(ctx, ref); err != nil || after.ID != before {
		t.Errorf("image changed by Ensure/Build without Force: %s -> %s (%v)", before, after.ID, err)
	}
}

// runIn runs script with bash -c in a container of ref and returns its exit
// status and output.
func runIn(ctx context.Context, t *testing.T, cli *client.Client, ref, script string) (int64, string, string) {
	t.Helper()
	id := createContainer(ctx, t, cli, ref, []string{"bash", "-c", script})
	if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitC, errC := cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	var code int64
	select {
	case r := <-waitC:
		code = r.StatusCode
	case err := <-errC:
		t.Fatal(err)
	}
	logs, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, logs); err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// fileFrom returns the content of the file at path in ref's filesystem.
func fileFrom(ctx context.Context, t *testing.T, cli *client.Client, ref, path string) []byte {
	t.Helper()
	id := createContainer(ctx, t, cli, ref, []string{"true"})
	rc, _, err := cli.CopyFromContainer(ctx, id, path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// createContainer creates a labelled container of ref, removed when the
// test ends.
func createContainer(ctx context.Context, t *testing.T, cli *client.Client, ref string, cmd []string) string {
	t.Helper()
	c, err := cli.ContainerCreate(ctx,
		&container.Config{Image: ref, Cmd: cmd, Labels: map[string]string{testLabel: "stack"}},
		&container.HostConfig{Init: ptr(true)}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("removing test container: %v", err)
		}
	})
	return c.ID
}

func ptr[T any](v T) *T { return &v }
