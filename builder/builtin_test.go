package builder

import (
	"archive/zip"
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"paas"
)

func TestBuildGo(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: "go.mod", body: "module github.com/heroku/go-getting-started\n\ngo 1.22\n"},
		file{name: "main.go", body: "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello from go\\n\") }\n"},
		file{name: "internal/util/util.go", body: "package util\n\nconst X = 1\n"},
	)})
	want := map[string]string{"web": "go-getting-started"}
	if !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	if !slices.Equal(res.Buildpacks, []string{"go"}) {
		t.Errorf("buildpacks %q, want [go]", res.Buildpacks)
	}
	wantSlug := filepath.Join(b.cfg.SlugsDir, "app", "b1")
	if res.Slug != wantSlug {
		t.Errorf("slug %s, want %s", res.Slug, wantSlug)
	}
	got, err := exec.Command(filepath.Join(res.Slug, "bin", "go-getting-started")).Output()
	if err != nil || string(got) != "hello from go\n" {
		t.Errorf("running the binary: %q, %v", got, err)
	}
	contains(t, out,
		"-----> Building app (commit 0123456)\n",
		"-----> Go app detected\n",
		"-----> Discovering process types\n",
		"       Default types for buildpack -> web\n",
		"-----> Compiled slug size: ")
	if _, err := os.Stat(filepath.Join(b.cfg.CacheDir, "app", "cache", "go", "build")); err != nil {
		t.Errorf("go build cache not in the app cache: %v", err)
	}

	// A second build from the warm cache: two main packages, so no
	// default process; the Procfile names one.
	res, out = build(t, b, Request{Build: 2, Source: tarball(t,
		file{name: "go.mod", body: "module example.com/tools/v2\n\ngo 1.22\n"},
		file{name: "cmd/a/main.go", body: "package main\n\nfunc main() {}\n"},
		file{name: "cmd/b/main.go", body: "package main\n\nfunc main() {}\n"},
		file{name: "Procfile", body: "worker: a\n"},
	)})
	for _, name := range []string{"a", "b"} {
		if _, err := os.Stat(filepath.Join(res.Slug, "bin", name)); err != nil {
			t.Errorf("bin/%s: %v", name, err)
		}
	}
	if want := map[string]string{"worker": "a"}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	if strings.Contains(out, "Default types for buildpack") {
		t.Errorf("two main packages gave a default web process:\n%s", out)
	}
}

func TestBuildNode(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: "package.json", body: `{"name": "hello", "version": "1.0.0", "private": true, "scripts": {"start": "node server.js"}}`},
		file{name: "server.js", body: "console.log('hello from node')\n"},
	)})
	if want := map[string]string{"web": "npm start"}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	contains(t, out, "-----> Node.js app detected\n", "npm install")
	data, err := os.ReadFile(filepath.Join(res.Slug, ".profile.d", "node.sh"))
	if err != nil || !strings.Contains(string(data), `$HOME/node_modules/.bin`) {
		t.Errorf(".profile.d/node.sh: %q, %v", data, err)
	}
	cmd := exec.Command("npm", "start", "--silent")
	cmd.Dir = res.Slug
	got, err := cmd.Output()
	if err != nil || !strings.Contains(string(got), "hello from node") {
		t.Errorf("npm start: %q, %v", got, err)
	}
}

func TestBuildPython(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: "app.py", body: "import sys\nprint(sys.prefix)\n"},
		file{name: "Procfile", body: "web: python app.py\n"},
	)})
	if want := map[string]string{"web": "python app.py"}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	contains(t, out, "-----> Python app detected\n", "Procfile declares types -> web\n")
	venv := filepath.Join(res.Slug, ".heroku", "python")
	// Run the app the way the runtime does: HOME is the slug and
	// .profile.d puts the virtualenv first on PATH.
	cmd := exec.Command("bash", "-c", `for f in .profile.d/*.sh; do . "$f"; done; exec python app.py`)
	cmd.Dir = res.Slug
	cmd.Env = append(os.Environ(), "HOME="+res.Slug)
	got, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(got)) != venv {
		t.Errorf("sys.prefix = %q (%v), want %s", got, err, venv)
	}
}

func TestBuildPythonRequirements(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	// A comment-only requirements.txt has nothing to install: no pip.
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: "requirements.txt", body: "# nothing yet\n\n"},
		file{name: "main.py", body: "print('hi')\n"},
		file{name: "Procfile", body: "web: python main.py\n"},
	)})
	contains(t, out, "No requirements to install")
	if _, err := os.Stat(filepath.Join(res.Slug, ".heroku", "python", "bin", "python")); err != nil {
		t.Errorf("no virtualenv: %v", err)
	}
}

func TestBuildStatic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files []file
		web   string
	}{
		{"public", []file{{name: "public/index.html", body: "<h1>hi</h1>"}}, "paas-static public"},
		{"root", []file{{name: "index.html", body: "<h1>hi</h1>"}, {name: "public/x.css", body: "x"}}, "paas-static ."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := testBuilder(t, 0)
			res, out := build(t, b, Request{Source: tarball(t, tc.files...)})
			if want := map[string]string{"web": tc.web}; !maps.Equal(res.ProcessTypes, want) {
				t.Errorf("process types %q, want %q", res.ProcessTypes, want)
			}
			contains(t, out, "-----> Static app detected\n")
			got, err := exec.Command(filepath.Join(res.Slug, "bin", "paas-static"), "x").Output()
			if err != nil || string(got) != "static server x\n" {
				t.Errorf("bin/paas-static: %q, %v", got, err)
			}
		})
	}
}

func TestBuildProcfileOnly(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: "Procfile", body: "web: ./run.sh\nworker: ./run.sh work\n"},
		file{name: "run.sh", body: "#!/bin/sh\necho run \"$@\"\n", mode: 0o775},
		file{name: "link", link: "run.sh"},
	)})
	want := map[string]string{"web": "./run.sh", "worker": "./run.sh work"}
	if !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	if !slices.Equal(res.Buildpacks, []string{"procfile"}) {
		t.Errorf("buildpacks %q", res.Buildpacks)
	}
	contains(t, out, "-----> Procfile app detected\n", "Procfile declares types -> web, worker\n")
	got, err := exec.Command(filepath.Join(res.Slug, "link"), "a").Output()
	if err != nil || string(got) != "run a\n" {
		t.Errorf("running the tree's script through its symlink: %q, %v", got, err)
	}
}

func TestBuildNoBuildpack(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	msg, _ := buildErr(t, b, Request{Source: tarball(t, file{name: "README", body: "hi"})})
	want := "no buildpack detected: looked for go.mod (Go), package.json (Node.js), requirements.txt, pyproject.toml or *.py with a Procfile (Python), index.html or public/ (static), Procfile, Dockerfile"
	if msg != want {
		t.Errorf("got %q, want %q", msg, want)
	}
}

func TestBuildDockerfileWithoutDocker(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	msg, _ := buildErr(t, b, Request{Source: tarball(t, file{name: "Dockerfile", body: "FROM scratch\n"})})
	if !strings.Contains(msg, "Dockerfile apps need the docker runtime") {
		t.Errorf("got %q", msg)
	}
	// Without Docker a language buildpack builds the tree instead, and
	// the build says so; a bare Procfile does not (it names the
	// Dockerfile build's process types).
	res, out := build(t, b, Request{Build: 2, Source: tarball(t,
		file{name: "Dockerfile", body: "FROM scratch\n"},
		file{name: "index.html", body: "<p>hi</p>\n"},
	)})
	if !slices.Equal(res.Buildpacks, []string{"static"}) {
		t.Errorf("buildpacks %q, want [static]", res.Buildpacks)
	}
	contains(t, out, " !     This server runs apps without Docker and cannot build the Dockerfile: building with buildpacks instead\n")
	// Asked for, the Dockerfile build is refused in one line.
	msg, _ = buildErr(t, b, Request{Build: 4, Builder: paas.BuilderDockerfile, Source: tarball(t,
		file{name: "Dockerfile", body: "FROM scratch\n"},
		file{name: "index.html", body: "<p>hi</p>\n"},
	)})
	if msg != "Dockerfile apps need the docker runtime: this server builds without Docker" {
		t.Errorf("builder dockerfile without Docker: got %q", msg)
	}
	// Asked for buildpacks, the Dockerfile is not mentioned.
	res, out = build(t, b, Request{Build: 5, Builder: paas.BuilderBuildpacks, Source: tarball(t,
		file{name: "Dockerfile", body: "FROM scratch\n"},
		file{name: "index.html", body: "<p>hi</p>\n"},
	)})
	if !slices.Equal(res.Buildpacks, []string{"static"}) || strings.Contains(out, "Dockerfile") {
		t.Errorf("builder buildpacks: %q\n%s", res.Buildpacks, out)
	}
	msg, _ = buildErr(t, b, Request{Build: 3, Source: tarball(t,
		file{name: "Dockerfile", body: "FROM scratch\n"},
		file{name: "Procfile", body: "web: ./run\n"},
	)})
	if !strings.Contains(msg, "Dockerfile apps need the docker runtime") {
		t.Errorf("Dockerfile with Procfile: got %q", msg)
	}
}

func TestBuildBadProcfile(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	msg, _ := buildErr(t, b, Request{Source: tarball(t,
		file{name: "Procfile", body: "web: ./run\nthis is not a process\n"},
	)})
	if want := `Procfile line 2: expected "type: command"`; msg != want {
		t.Errorf("got %q, want %q", msg, want)
	}
}

func TestBuildNoProcessTypes(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	msg, _ := buildErr(t, b, Request{Source: tarball(t,
		file{name: "Procfile", body: "# nothing yet\n"},
	)})
	if !strings.HasPrefix(msg, "no process types") {
		t.Errorf("got %q", msg)
	}
}

// TestBuildWarmRebuild builds a Python app twice, the second time from a
// warm cache into a new slug, and checks both slugs work independently.
func TestBuildWarmRebuild(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	src := func() []file {
		return []file{{name: "app.py", body: "print('ok')\n"}, {name: "Procfile", body: "web: python app.py\n"}}
	}
	r1, _ := build(t, b, Request{Build: 1, Source: tarball(t, src()...)})
	start := time.Now()
	r2, _ := build(t, b, Request{Build: 2, Source: tarball(t, src()...)})
	t.Logf("warm rebuild took %s", time.Since(start))
	if r1.Slug == r2.Slug {
		t.Fatal("two builds share a slug")
	}
	for _, slug := range []string{r1.Slug, r2.Slug} {
		if _, err := os.Stat(filepath.Join(slug, ".heroku", "python", "bin", "python")); err != nil {
			t.Error(err)
		}
	}
}

// TestBuildPythonPip installs a requirements.txt naming a wheel vendored in
// the tree, which needs no package index.
func TestBuildPythonPip(t *testing.T) {
	t.Parallel()
	var whl bytes.Buffer
	zw := zip.NewWriter(&whl)
	for name, body := range map[string]string{
		"greeting/__init__.py":                 "WORD = 'vendored'\n",
		"greeting-1.0.dist-info/METADATA":      "Metadata-Version: 2.1\nName: greeting\nVersion: 1.0\n",
		"greeting-1.0.dist-info/WHEEL":         "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		"greeting-1.0.dist-info/top_level.txt": "greeting\n",
		"greeting-1.0.dist-info/RECORD":        "greeting/__init__.py,,\ngreeting-1.0.dist-info/METADATA,,\ngreeting-1.0.dist-info/WHEEL,,\ngreeting-1.0.dist-info/top_level.txt,,\ngreeting-1.0.dist-info/RECORD,,\n",
	} {
		w, err := zw.Create(name)
		must(t, err)
		_, err = w.Write([]byte(body))
		must(t, err)
	}
	must(t, zw.Close())

	b := testBuilder(t, 0)
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: "requirements.txt", body: "# vendored\n./vendor/greeting-1.0-py3-none-any.whl\n"},
		file{name: "vendor/greeting-1.0-py3-none-any.whl", body: whl.String()},
		file{name: "app.py", body: "import greeting\nprint(greeting.WORD)\n"},
		file{name: "Procfile", body: "web: python app.py\n"},
	)})
	contains(t, out, "Installing requirements with pip", "greeting")
	got, err := exec.Command(filepath.Join(res.Slug, ".heroku", "python", "bin", "python"), filepath.Join(res.Slug, "app.py")).Output()
	if err != nil || string(got) != "vendored\n" {
		t.Errorf("app.py: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(b.cfg.CacheDir, "app", "cache", "pip")); err != nil {
		t.Errorf("pip cache not in the app cache: %v", err)
	}
}

func TestBuildNodeLockfile(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: "package.json", body: `{"name": "locked", "version": "1.0.0", "scripts": {"start": "node ."}}`},
		file{name: "package-lock.json", body: `{"name": "locked", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": {"": {"name": "locked", "version": "1.0.0"}}}`},
		file{name: "index.js", body: "console.log('locked')\n"},
	)})
	contains(t, out, "Installing dependencies with npm ci")
	if want := map[string]string{"web": "npm start"}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	if _, err := os.Stat(filepath.Join(b.cfg.CacheDir, "app", "cache", "npm")); err != nil {
		t.Errorf("npm cache not in the app cache: %v", err)
	}
}

// TestBuildWarnsOfAppPath builds, without Docker, apps whose Procfile
// commands hard-code /app as Heroku apps may: nothing is at /app on the
// host, and the build says so in one line naming the process types.
func TestBuildWarnsOfAppPath(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	_, out := build(t, b, Request{Source: tarball(t,
		file{name: "Procfile", body: "web: /app/bin/server\nworker: cd /app && ./work\nclock: ./clock --dir /application\n"},
	)})
	const want = " !     Process types web, worker use /app: this server runs apps from their own directory ($HOME), not /app; use $HOME or relative paths\n"
	if strings.Count(out, "/app:") != 1 || !strings.Contains(out, want) {
		t.Errorf("output lacks the /app warning %q:\n%s", want, out)
	}
	_, out = build(t, b, Request{Build: 2, Source: tarball(t,
		file{name: "Procfile", body: "web: ./server --root=/apps/x\n"},
	)})
	if strings.Contains(out, "/app:") {
		t.Errorf("a warning for a command without /app:\n%s", out)
	}
}
