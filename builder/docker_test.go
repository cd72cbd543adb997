package builder

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"paas/buildpacks"
	"paas/internal/gittest"
)

// checkImage checks the image of a Docker-mode build: its reference, its
// labels, that the build dir and the build container are gone.
func checkBuiltImage(t *testing.T, cli *client.Client, b *Builder, app string, n int, res Result) {
	t.Helper()
	if want := "paas/" + app + ":b" + strconv.Itoa(n); res.Slug != want {
		t.Errorf("artifact %q, want %q", res.Slug, want)
	}
	labels := imageLabelsOf(t, cli, res.Slug)
	if labels[labelApp] != app || labels[labelBuild] != strconv.Itoa(n) || labels[labelCommit] != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("labels %v", labels)
	}
	var types map[string]string
	if err := json.Unmarshal([]byte(labels[labelProcessTypes]), &types); err != nil || !maps.Equal(types, res.ProcessTypes) {
		t.Errorf("process types label %q (%v), want %v", labels[labelProcessTypes], err, res.ProcessTypes)
	}
	if _, err := os.Stat(filepath.Join(b.cfg.SlugsDir, app, "b"+strconv.Itoa(n))); !os.IsNotExist(err) {
		t.Errorf("build dir left on the host (stat: %v)", err)
	}
	if n := buildContainers(t, cli, app); n != 0 {
		t.Errorf("%d build containers left after the build", n)
	}
}

func TestDockerBuildPython(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	res, out := build(t, b, Request{App: app, Source: tarball(t,
		file{name: "app.py", body: "import os, sys\nprint(sys.prefix, os.getcwd(), os.environ['HOME'])\n"},
		file{name: "Procfile", body: "web: python app.py\n"},
		file{name: "run", link: "app.py"},
	)})
	checkBuiltImage(t, cli, b, app, 1, res)
	if want := map[string]string{"web": "python app.py"}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	contains(t, out, "-----> Python app detected\n", "-----> Making the image\n", "-----> Image paas/"+app+":b1: ")
	got, code := runImage(t, cli, res.Slug, "bash", "-c", `for f in .profile.d/*.sh; do . "$f"; done; python app.py; readlink run`)
	if code != 0 || got != "/app/.heroku/python /app /app\napp.py\n" {
		t.Errorf("running the image: %q, exit %d", got, code)
	}
}

func TestDockerBuildNode(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	res, out := build(t, b, Request{App: app, Source: tarball(t,
		file{name: "package.json", body: `{"name": "hello", "version": "1.0.0", "private": true, "scripts": {"start": "node server.js"}}`},
		file{name: "server.js", body: "console.log('hello from node')\n"},
	)})
	checkBuiltImage(t, cli, b, app, 1, res)
	contains(t, out, "-----> Node.js app detected\n", "npm install")
	got, code := runImage(t, cli, res.Slug, "npm", "start", "--silent")
	if code != 0 || got != "hello from node\n" {
		t.Errorf("npm start: %q, exit %d", got, code)
	}
}

func TestDockerBuildGo(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	src := func() []file {
		return []file{
			{name: "go.mod", body: "module example.com/hello\n\ngo 1.22\n"},
			{name: "main.go", body: "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from go\") }\n"},
		}
	}
	res, out := build(t, b, Request{App: app, Source: tarball(t, src()...)})
	checkBuiltImage(t, cli, b, app, 1, res)
	contains(t, out, "-----> Installing go1.22.0 from the module proxy\n", "-----> Using go1.22.0\n", "Installed bin/hello")
	if want := map[string]string{"web": "hello"}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	got, code := runImage(t, cli, res.Slug, "bash", "-c", "cd /app && ls bin && bin/hello")
	if code != 0 || got != "hello\nhello from go\n" {
		t.Errorf("running the image: %q, exit %d", got, code)
	}

	// The warm rebuild finds the toolchain in the cache volume.
	res, out = build(t, b, Request{App: app, Build: 2, Source: tarball(t, src()...)})
	checkBuiltImage(t, cli, b, app, 2, res)
	contains(t, out, "-----> Using cached go1.22.0\n")
	if strings.Contains(out, "from the module proxy") {
		t.Errorf("warm rebuild downloaded the toolchain again:\n%s", out)
	}
}

func TestDockerBuildStatic(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	res, _ := build(t, b, Request{App: app, Source: tarball(t, file{name: "index.html", body: "<h1>hi</h1>\n"})})
	checkBuiltImage(t, cli, b, app, 1, res)
	if want := map[string]string{"web": "paas-static ."}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	got, code := runImage(t, cli, res.Slug, "bash", "-c", "cd /app && ls bin && bin/paas-static .")
	if code != 0 || got != "paas-static\nstatic server .\n" {
		t.Errorf("running the image: %q, exit %d", got, code)
	}
}

func TestDockerBuildProcfileAndRemove(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	src := func() []file {
		return []file{
			{name: "Procfile", body: "worker: ./work.sh\n"},
			{name: "work.sh", body: "#!/bin/sh\necho working in $PWD as $HOME\n", mode: 0o755},
		}
	}
	res, out := build(t, b, Request{App: app, Source: tarball(t, src()...)})
	checkBuiltImage(t, cli, b, app, 1, res)
	contains(t, out, "-----> Procfile app detected\n")
	got, code := runImage(t, cli, res.Slug, "./work.sh")
	if code != 0 || got != "working in /app as /app\n" {
		t.Errorf("running the image: %q, exit %d", got, code)
	}
	res2, _ := build(t, b, Request{App: app, Build: 2, Source: tarball(t, src()...)})

	must(t, b.RemoveBuild(t.Context(), app, 1))
	if _, err := cli.ImageInspect(t.Context(), res.Slug); err == nil {
		t.Errorf("%s still exists after RemoveBuild", res.Slug)
	}
	must(t, b.RemoveBuild(t.Context(), app, 1)) // already gone: no error
	if _, err := cli.ImageInspect(t.Context(), res2.Slug); err != nil {
		t.Errorf("RemoveBuild of b1 took %s too: %v", res2.Slug, err)
	}
	if _, err := cli.VolumeInspect(t.Context(), cacheVolume(app)); err != nil {
		t.Errorf("cache volume: %v", err)
	}
	must(t, b.Remove(app))
	checkNoLeftovers(t, cli, app)
}

// customBuildpack makes a buildpack directory among those b allows whose
// bin/compile is the given bash script.
func customBuildpack(t *testing.T, b *Builder, compile string) string {
	t.Helper()
	return vettedBuildpack(t, b, map[string]string{
		"bin/detect":  "#!/bin/sh\necho Custom\n",
		"bin/compile": "#!/usr/bin/env bash\n" + compile + "\n",
		"bin/release": "#!/bin/sh\necho '---'\nprintf 'default_process_types:\n  web: ./x\n'\n",
	})
}

func TestDockerBuildFailure(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	bp := customBuildpack(t, b, `echo "compiling $1 with cache $2 and env $3: $(cat "$3/GREETING")"; ls /buildpacks-custom; exit 3`)
	msg, out := buildErr(t, b, Request{App: app, Source: tarball(t, file{name: "x", body: "x"}),
		Config: map[string]string{"BUILDPACK_URL": bp, "GREETING": "hi"}})
	if want := "buildpack " + bp + " failed: bin/compile exit status 3"; msg != want {
		t.Errorf("error %q, want %q", msg, want)
	}
	contains(t, out, "-----> Custom app detected\n", "compiling /app with cache /cache/cache and env /env: hi\n0\n")
	if n := buildContainers(t, cli, app); n != 0 {
		t.Errorf("%d build containers left after a failed build", n)
	}
	if _, err := cli.ImageInspect(t.Context(), imageRef(app, 1)); err == nil {
		t.Error("a failed build left an image")
	}
}

// TestDockerBuildCustomGitBuildpack: a git buildpack is fetched inside
// the build container, by the paasd binary mounted there, from a git
// server in another container.
func TestDockerBuildCustomGitBuildpack(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	repos := t.TempDir()
	repo := filepath.Join(repos, "bp.git")
	must(t, os.Mkdir(repo, 0o755))
	gittest.Git(t, repo, "init", "--quiet", "--initial-branch=main")
	gittest.WriteFiles(t, repo, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\necho \"compile in $0\"\necho '#!/bin/sh' > \"$1/x\"; echo 'echo custom' >> \"$1/x\"; chmod +x \"$1/x\"\n",
		"bin/release": "#!/bin/sh\necho '---'\nprintf 'default_process_types:\n  web: ./x\n'\n",
	})
	gittest.Git(t, repo, "add", ".")
	gittest.Git(t, repo, "commit", "--quiet", "-m", "bp")
	gittest.Git(t, repo, "tag", "v1")
	url := gitServerRemote(t, repos) + "/bp.git"
	res, out := build(t, b, Request{App: app, Source: tarball(t, file{name: ".buildpacks", body: url + "#v1\n"})})
	checkBuiltImage(t, cli, b, app, 1, res)
	contains(t, out, "-----> Fetching buildpack "+url+"#v1\n", "       Fetched commit ", "compile in /buildpacks-custom/0/bin/compile\n")
	if got, code := runImage(t, cli, res.Slug, "./x"); code != 0 || got != "custom\n" {
		t.Errorf("running the image: %q, exit %d", got, code)
	}
}

// TestDockerBuildRefusesHostPaths: on docker too, server paths and
// file:// are refused, and the fetch in the build container refuses its
// loopback and the link-local metadata address.
func TestDockerBuildRefusesHostPaths(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	for ref, want := range map[string]string{
		"/etc":                               `BUILDPACK_URL: buildpack "/etc" is not allowed: ` + buildpacks.RefForms,
		"file:///etc":                        `BUILDPACK_URL: buildpack "file:///etc" is not allowed: ` + buildpacks.RefForms,
		"http://127.0.0.1:9/bp.git":          "buildpack http://127.0.0.1:9/bp.git: its server is at a loopback address, which buildpacks are never fetched from",
		"http://169.254.169.254/latest/bp":   "buildpack http://169.254.169.254/latest/bp: its server is at a link-local address, which buildpacks are never fetched from",
		"ssh://git@127.0.0.2:22/bp.git#main": "buildpack ssh://git@127.0.0.2:22/bp.git#main: its server is at a loopback address, which buildpacks are never fetched from",
	} {
		msg, out := buildErr(t, b, Request{App: app, Config: map[string]string{"BUILDPACK_URL": ref},
			Source: tarball(t, file{name: "Procfile", body: "web: x\n"})})
		if msg != want {
			t.Errorf("%s: %q, want %q", ref, msg, want)
		}
		if strings.Contains(out, "root:") {
			t.Errorf("%s: output shows the host:\n%s", ref, out)
		}
	}
}

func TestDockerBuildTimeout(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, func(c *Config) { c.Timeout = 5 * time.Second })
	bp := customBuildpack(t, b, "echo started; sleep 600")
	start := time.Now()
	msg, out := buildErr(t, b, Request{App: app, Source: tarball(t, file{name: "x", body: "x"}),
		Config: map[string]string{"BUILDPACK_URL": bp}})
	if msg != "build timed out after 5s and was stopped" {
		t.Errorf("error %q", msg)
	}
	contains(t, out, "started\n")
	if d := time.Since(start); d > time.Minute {
		t.Errorf("build took %s to stop", d)
	}
	if n := buildContainers(t, cli, app); n != 0 {
		t.Errorf("%d build containers left after a timeout", n)
	}
}

func TestDockerBuildOutOfMemory(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, func(c *Config) { c.BuildMemory = 32 << 20 })
	bp := customBuildpack(t, b, `python3 -c 'x = b"a" * (200 << 20); print(len(x))'`)
	msg, _ := buildErr(t, b, Request{App: app, Source: tarball(t, file{name: "x", body: "x"}),
		Config: map[string]string{"BUILDPACK_URL": bp}})
	if want := "build ran out of memory (limit 32.0 MiB); raise PAAS_BUILD_MEMORY"; msg != want {
		t.Errorf("error %q, want %q", msg, want)
	}
	if n := buildContainers(t, cli, app); n != 0 {
		t.Errorf("%d build containers left after running out of memory", n)
	}
}

func TestDockerBuildImageTooLarge(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, func(c *Config) { c.MaxImageSize = 1 << 20 })
	msg, _ := buildErr(t, b, Request{App: app, Source: tarball(t, file{name: "Procfile", body: "web: ./x\n"})})
	if !strings.HasPrefix(msg, "image is ") || !strings.HasSuffix(msg, "larger than the limit of 1.0M (PAAS_MAX_IMAGE_SIZE)") {
		t.Errorf("error %q", msg)
	}
	if _, err := cli.ImageInspect(t.Context(), imageRef(app, 1)); err == nil {
		t.Error("the oversized image was kept")
	}
}

func TestDockerfileBuild(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	dockerfile := "FROM " + DefaultStackImage + "\n" +
		"ARG GREETING=unset\n" +
		"COPY hello.txt /srv/\n" +
		"RUN echo \"$GREETING\" > /srv/greeting && echo built it\n" +
		"EXPOSE 8080\n" +
		"CMD [\"bash\", \"-c\", \"cat /srv/hello.txt /srv/greeting\"]\n"
	src := func() []file {
		return []file{{name: "Dockerfile", body: dockerfile}, {name: "hello.txt", body: "hello\n"}}
	}
	res, out := build(t, b, Request{App: app, Source: tarball(t, src()...), Config: map[string]string{"GREETING": "hi"}})
	checkBuiltImage(t, cli, b, app, 1, res)
	if want := map[string]string{"web": ""}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	if res.Port != 8080 || !slices.Equal(res.Buildpacks, []string{"Dockerfile"}) {
		t.Errorf("port %d, buildpacks %q", res.Port, res.Buildpacks)
	}
	contains(t, out, "-----> Dockerfile app detected\n", "       built it\n", "EXPOSE 8080")
	if got, code := runImage(t, cli, res.Slug); code != 0 || got != "hello\nunset\n" {
		t.Errorf("running the image's CMD: %q, exit %d", got, code)
	}

	// Opting in hands the config over as build args.
	res, out = build(t, b, Request{App: app, Build: 2, Source: tarball(t, src()...),
		Config: map[string]string{"GREETING": "hi", buildArgsKey: "true"}})
	checkBuiltImage(t, cli, b, app, 2, res)
	contains(t, out, "Build args from config: GREETING\n")
	if got, code := runImage(t, cli, res.Slug); code != 0 || got != "hello\nhi\n" {
		t.Errorf("build arg: %q, exit %d", got, code)
	}
}

func TestDockerfileBuildFails(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	msg, out := buildErr(t, b, Request{App: app, Source: tarball(t,
		file{name: "Dockerfile", body: "FROM " + DefaultStackImage + "\nCOPY unique /\nRUN echo about to fail; exit 7\n"},
		file{name: "unique", body: app})})
	if !strings.HasPrefix(msg, "Dockerfile build failed: ") || !strings.Contains(msg, "returned a non-zero code: 7") {
		t.Errorf("error %q", msg)
	}
	contains(t, out, "       about to fail\n")
	// The layer the COPY step made is not left dangling.
	_, rest, _ := strings.Cut(out, "COPY unique /\n")
	sub := regexp.MustCompile(`---> ([0-9a-f]{12})\n`).FindStringSubmatch(rest)
	if sub == nil {
		t.Fatalf("no layer of the COPY step in the output:\n%s", out)
	}
	if _, err := cli.ImageInspect(t.Context(), sub[1]); err == nil {
		t.Errorf("layer %s of the failed build left", sub[1])
	}
	if _, err := cli.ImageInspect(t.Context(), DefaultStackImage); err != nil {
		t.Errorf("the stack image went with the failed build: %v", err)
	}
	if _, err := cli.ImageInspect(t.Context(), imageRef(app, 1)); err == nil {
		t.Error("a failed Dockerfile build left an image")
	}
}

func TestDockerEngineUnavailable(t *testing.T) {
	t.Parallel()
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+filepath.Join(t.TempDir(), "no-engine.sock")), client.WithAPIVersionNegotiation())
	must(t, err)
	defer cli.Close()
	data := t.TempDir()
	b, err := New(Config{
		BuildpacksDir: filepath.Join(data, "buildpacks"),
		CacheDir:      filepath.Join(data, "cache"),
		SlugsDir:      filepath.Join(data, "slugs"),
		Docker:        cli,
	})
	must(t, err)
	msg, _ := buildErr(t, b, Request{App: "app", Source: tarball(t, file{name: "Procfile", body: "web: x\n"})})
	t.Log(msg)
	if !strings.HasPrefix(msg, "docker engine unavailable: ") || strings.Contains(msg, "\n") {
		t.Errorf("error %q", msg)
	}
}

// commitContainers counts app's containers images are committed from.
func commitContainers(t *testing.T, cli *client.Client, app string) int {
	t.Helper()
	list, err := cli.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", labelApp+"="+app), filters.Arg("label", labelRole+"=commit"))})
	must(t, err)
	return len(list)
}

// TestDockerReapOrphans: a builder started after another was killed
// removes that one's build containers, and only containers of its own
// owner.
func TestDockerReapOrphans(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	owner := "test-owner-" + app
	first := dockerBuilder(t, cli, app, func(c *Config) { c.Owner = owner })
	bp := customBuildpack(t, first, "echo started; sleep 600")
	errc := startBuild(t, t.Context(), first, Request{App: app, Build: 1,
		Config: map[string]string{"BUILDPACK_URL": bp}, Source: tarball(t, file{name: "x", body: "x"})}, time.Minute)
	// The container the image is to be committed from is made while the
	// buildpack compiles.
	deadline := time.Now().Add(time.Minute)
	for commitContainers(t, cli, app) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no image container made during the compile")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A build container of another paasd on the same engine.
	other, err := cli.ContainerCreate(t.Context(), &container.Config{
		Image: DefaultStackImage, Cmd: idleCommand,
		Labels: map[string]string{labelApp: app, labelRole: "build", labelOwner: "someone-else", testLabel: "1"},
	}, nil, nil, nil, "")
	must(t, err)
	defer cli.ContainerRemove(context.Background(), other.ID, container.RemoveOptions{Force: true})

	second := dockerBuilder(t, cli, randomApp(t), func(c *Config) { c.Owner = owner })
	reaped, err := second.ReapOrphans(t.Context())
	must(t, err)
	// The build compiling has two: its build container and the one its
	// image is to be committed from.
	if reaped.Containers != 2 {
		t.Errorf("reaped %+v, want the build's two containers", reaped)
	}
	if _, err := cli.ContainerInspect(t.Context(), other.ID); err != nil {
		t.Errorf("another owner's container was removed: %v", err)
	}
	must(t, cli.ContainerRemove(t.Context(), other.ID, container.RemoveOptions{Force: true}))
	select {
	case err := <-errc:
		if err == nil {
			t.Error("the orphaned build succeeded")
		}
	case <-time.After(time.Minute):
		t.Fatal("the orphaned build did not end")
	}
	if n := buildContainers(t, cli, app); n != 0 {
		t.Errorf("%d build containers left", n)
	}
}
