package builder

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"paas"
	"paas/buildpacks"
	"paas/internal/gittest"
)

// markerBuildpack returns the scripts of a buildpack that writes marker
// into BUILD_DIR/marker and declares "web: serve MARKER".
func markerBuildpack(marker string) map[string]string {
	return map[string]string{
		"bin/detect":  "#!/usr/bin/env bash\necho Marker\n",
		"bin/compile": "#!/usr/bin/env bash\nset -e\necho \"-----> compiling " + marker + "\"\necho " + marker + " > \"$1/marker\"\n",
		"bin/release": "#!/usr/bin/env bash\nprintf -- '---\\ndefault_process_types:\\n  web: serve " + marker + "\\n  worker: work\\n'\n",
	}
}

// markerRepo serves a git repository whose branch v1 holds the "v1"
// marker buildpack and whose main branch, one commit later, the "v2" one.
// It returns the server and the repository's URL.
func markerRepo(t *testing.T) (*gittest.Server, string) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "marker.git")
	gittest.WriteFiles(t, repo, markerBuildpack("v1"))
	gittest.Commit(t, repo, "v1")
	gittest.Git(t, repo, "branch", "v1")
	gittest.WriteFiles(t, repo, markerBuildpack("v2"))
	gittest.Commit(t, repo, "v2")
	return srv, srv.RepoURL("marker.git")
}

func TestBuildCustomBuildpack(t *testing.T) {
	t.Parallel()
	srv, url := markerRepo(t)
	v1 := gittest.Git(t, filepath.Join(srv.Root, "marker.git"), "rev-parse", "v1")
	for _, tc := range []struct {
		name   string
		config map[string]string
		files  []file
		marker string
		server bool // .buildpacks names a listed server directory
	}{
		{"dotfile with branch", nil, []file{{name: ".buildpacks", body: "# ours\n" + url + "#v1\n"}}, "v1", false},
		{"dotfile with commit", nil, []file{{name: ".buildpacks", body: url + "#" + v1 + "\n"}}, "v1", false},
		{"dotfile server directory", nil, nil, "v2", true},
		{"config", map[string]string{"BUILDPACK_URL": url}, nil, "v2", false},
		{"config wins over dotfile", map[string]string{"BUILDPACK_URL": url + "#v1"},
			[]file{{name: ".buildpacks", body: "procfile\n"}}, "v1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := testBuilder(t, 0, allowLoopback)
			files := append(tc.files, file{name: "Procfile", body: "worker: ./override\n"})
			want := url
			if tc.server {
				want = vettedBuildpack(t, b, markerBuildpack("v2"))
				files = append(files, file{name: ".buildpacks", body: want + "\n"})
			}
			res, out := build(t, b, Request{Config: tc.config, Source: tarball(t, files...)})
			got, err := os.ReadFile(filepath.Join(res.Slug, "marker"))
			if err != nil || strings.TrimSpace(string(got)) != tc.marker {
				t.Errorf("marker %q (%v), want %q", got, err, tc.marker)
			}
			// The Procfile is the whole truth: the buildpack's default
			// web is not used.
			wantTypes := map[string]string{"worker": "./override"}
			if !maps.Equal(res.ProcessTypes, wantTypes) {
				t.Errorf("process types %q, want %q", res.ProcessTypes, wantTypes)
			}
			if len(res.Buildpacks) != 1 || !strings.HasPrefix(res.Buildpacks[0], want) {
				t.Errorf("buildpacks %q", res.Buildpacks)
			}
			contains(t, out, "-----> Marker app detected\n", "-----> compiling "+tc.marker+"\n",
				"       Default types for buildpack not in the Procfile, not used -> web\n")
			if !tc.server {
				// The fetch ran with no environment of the server's: only
				// the build's id.
				contains(t, out, "-----> Fetching buildpack "+url)
				if !regexp.MustCompile(`\n       fetch environment: \[PAAS_BUILD_ID=\.[0-9a-f]{16}\]\n`).MatchString(out) {
					t.Errorf("the fetch's environment is not empty:\n%s", out)
				}
			}
		})
	}
}

func TestBuildMultipleBuildpacksExport(t *testing.T) {
	t.Parallel()
	srv := gittest.NewServer(t)
	first := srv.NewRepo(t, "first.git")
	gittest.WriteFiles(t, first, map[string]string{
		"bin/detect":  "#!/usr/bin/env bash\necho First\n",
		"bin/compile": "#!/usr/bin/env bash\nbp=$(cd \"$(dirname \"$0\")/..\" && pwd)\nprintf 'export GREETING=\"hello from first\"\\nTOOL_HOME=/opt/tool\\n' > \"$bp/export\"\n",
		"bin/release": "#!/usr/bin/env bash\nprintf 'default_process_types:\\n  web: first\\n  worker: first\\n'\n",
	})
	gittest.Commit(t, first, "first")

	b := testBuilder(t, 0, allowLoopback)
	// The second buildpack is a listed server directory used as it is.
	second := vettedBuildpack(t, b, map[string]string{
		"bin/detect":  "#!/usr/bin/env bash\necho Second\n",
		"bin/compile": "#!/usr/bin/env bash\necho \"$GREETING|$TOOL_HOME\" > \"$1/seen\"\n",
		"bin/release": "#!/usr/bin/env bash\nprintf 'default_process_types:\\n  web: second\\n'\n",
	})
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: ".buildpacks", body: srv.RepoURL("first.git") + "\n" + second + "\n"},
	)})
	got, err := os.ReadFile(filepath.Join(res.Slug, "seen"))
	if err != nil || string(got) != "hello from first|/opt/tool\n" {
		t.Errorf("second buildpack saw %q (%v)", got, err)
	}
	if want := map[string]string{"web": "second", "worker": "first"}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	if want := []string{srv.RepoURL("first.git"), second}; !slices.Equal(res.Buildpacks, want) {
		t.Errorf("buildpacks %q, want %q", res.Buildpacks, want)
	}
	contains(t, out, "-----> First app detected\n", "-----> Second app detected\n")
	// The export must not have leaked into the first buildpack's env
	// file of the build, nor stay in the server's environment.
	if os.Getenv("GREETING") != "" {
		t.Error("export reached the server's environment")
	}
}

func TestBuildCustomBuildpackErrors(t *testing.T) {
	t.Parallel()
	srv, url := markerRepo(t)
	b := testBuilder(t, 0, allowLoopback)
	failing := vettedBuildpack(t, b, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\necho 'about to fail'\nexit 3\n",
	})
	picky := vettedBuildpack(t, b, map[string]string{
		"bin/detect":  "#!/usr/bin/env bash\nexit 1\n",
		"bin/compile": "#!/usr/bin/env bash\n",
	})
	refused := func(ref string) string {
		return "BUILDPACK_URL: buildpack \"" + ref + "\" is not allowed: " + buildpacks.RefForms
	}
	for _, tc := range []struct {
		name, buildpack, msg, out string
	}{
		{"compile fails", failing, "buildpack " + failing + " failed: bin/compile exit status 3", "about to fail\n"},
		{"detect fails", picky, "buildpack " + picky + " does not apply to this app: its bin/detect failed", ""},
		{"unknown ref", url + "#nope", "buildpack " + url + `#nope: no branch, tag or commit "nope" in the repository (a commit must be given in full)`, ""},
		{"missing repo", srv.RepoURL("missing.git"), "buildpack " + srv.RepoURL("missing.git") + ": repository not found", ""},
		{"relative path", "some/dir", refused("some/dir"), ""},
		{"missing dir", "/nonexistent/buildpack", refused("/nonexistent/buildpack"), ""},
		{"missing listed dir", b.cfg.BuildpackPaths[0] + "/missing", refused(b.cfg.BuildpackPaths[0] + "/missing"), ""},
		{"ref on plain dir", failing + "#v1", refused(failing + "#v1"), ""},
		{"file url", "file://" + filepath.Join(srv.Root, "marker.git"), refused("file://" + filepath.Join(srv.Root, "marker.git")), ""},
		{"git transport", "git://127.0.0.1/marker.git", refused("git://127.0.0.1/marker.git"), ""},
		{"ext transport", "ext::sh -c touch% /tmp/paas-pwned", refused("ext::sh -c touch% /tmp/paas-pwned"), ""},
		{"ext transport no spaces", "ext::false", refused("ext::false"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg, out := buildErr(t, b, Request{
				App:    "app-" + strings.ReplaceAll(tc.name, " ", "-"),
				Config: map[string]string{"BUILDPACK_URL": tc.buildpack},
				Source: tarball(t, file{name: "Procfile", body: "web: x\n"}),
			})
			if msg != tc.msg {
				t.Errorf("error %q, want %q", msg, tc.msg)
			}
			if tc.out != "" {
				contains(t, out, tc.out)
			}
		})
	}
}

func TestBuildTimeout(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	b := testBuilder(t, 2*time.Second)
	// The compile leaves a child behind in its process group and waits.
	slow := vettedBuildpack(t, b, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\nsleep 300 &\necho $! > \"$(cat \"$3/PID_FILE\")\"\necho started\nwait\n",
	})
	start := time.Now()
	msg, out := buildErr(t, b, Request{
		Config: map[string]string{"BUILDPACK_URL": slow, "PID_FILE": pidFile},
		Source: tarball(t, file{name: "Procfile", body: "web: x\n"}),
	})
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("build took %s to time out", took)
	}
	if want := "build timed out after 2s and was stopped"; msg != want {
		t.Errorf("got %q, want %q", msg, want)
	}
	contains(t, out, "started\n")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("compile's child %d survived the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the parenthesized command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

func TestBuildCanceled(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	slow := vettedBuildpack(t, b, map[string]string{"bin/compile": "#!/usr/bin/env bash\necho started\nexec sleep 300\n"})
	ctx, cancel := context.WithCancel(t.Context())
	errc := startBuild(t, ctx, b, Request{App: "app", Build: 1,
		Config: map[string]string{"BUILDPACK_URL": slow},
		Source: tarball(t, file{name: "Procfile", body: "web: x\n"})}, 20*time.Second)
	cancel()
	select {
	case err := <-errc:
		if msg, _ := paas.UserMessage(err); msg != "build canceled" {
			t.Errorf("got %v, want build canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("canceled build did not return")
	}
}

func TestBuildEnv(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.test:3128")
	t.Setenv("PAAS_LEAK_CHECK", "leaked")
	b := testBuilder(t, 0)
	envbp := vettedBuildpack(t, b, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\nset -e\nenv > \"$1/compile-env\"\nls \"$3\" > \"$1/env-dir-list\"\ncat \"$3/SECRET\" > \"$1/secret\"\necho \"$PWD\" > \"$1/cwd\"\n",
		"bin/release": "#!/usr/bin/env bash\necho '---'\necho 'default_process_types:'\necho '  web: x'\n",
	})
	secret := "s3cr3t value with\nnewline and $(dollar)"
	res, _ := build(t, b, Request{
		Commit: "feedfacefeedfacefeedfacefeedfacefeedface",
		Config: map[string]string{"BUILDPACK_URL": envbp, "SECRET": secret, "DATABASE_URL": "postgres://x"},
		Source: tarball(t, file{name: "README", body: "x"}),
	})
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(res.Slug, name))
		must(t, err)
		return string(data)
	}
	if got := read("secret"); got != secret {
		t.Errorf("ENV_DIR/SECRET = %q, want %q", got, secret)
	}
	if got := read("env-dir-list"); got != "BUILDPACK_URL\nDATABASE_URL\nSECRET\n" {
		t.Errorf("ENV_DIR holds %q", got)
	}
	if got := strings.TrimSpace(read("cwd")); got != res.Slug {
		t.Errorf("compile ran in %s, want %s", got, res.Slug)
	}
	env := map[string]string{}
	for _, line := range strings.Split(read("compile-env"), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	for k, want := range map[string]string{
		"LANG":               "C.UTF-8",
		"STACK":              "paas-bookworm",
		"HTTPS_PROXY":        "http://proxy.test:3128",
		"HOME":               filepath.Join(b.cfg.CacheDir, "app", "home"),
		"PATH":               os.Getenv("PATH"),
		"SOURCE_VERSION":     "feedfacefeedfacefeedfacefeedfacefeedface",
		"PAAS_STATIC_SERVER": b.cfg.StaticServer,
		"PAAS_BUILD_RUNTIME": "exec",
	} {
		if env[k] != want {
			t.Errorf("compile env %s=%q, want %q", k, env[k], want)
		}
	}
	for _, k := range []string{"SECRET", "DATABASE_URL", "BUILDPACK_URL", "PAAS_LEAK_CHECK"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s reached the compile environment", k)
		}
	}
}

// failingWriter fails every write, like the output of a pusher who hung up.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("gone") }

func TestBuildOutputGone(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, time.Minute)
	// Far more output than a pipe buffers.
	chatty := vettedBuildpack(t, b, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\nfor i in $(seq 1 20000); do echo \"line $i of build output\"; done\n",
	})
	res, err := b.Build(t.Context(), Request{App: "app", Build: 1, Out: failingWriter{},
		Config: map[string]string{"BUILDPACK_URL": chatty},
		Source: tarball(t, file{name: "Procfile", body: "web: x\n"})})
	if err != nil {
		t.Fatalf("build failed: %v", err)
	}
	if res.ProcessTypes["web"] != "x" {
		t.Errorf("process types %q", res.ProcessTypes)
	}
}

// TestBuildRefusesHostPaths: a pusher cannot have a build read the
// server's directories or repositories, nor fetch from its loopback:
// whether named in BUILDPACK_URL or .buildpacks, existing or not, each
// gets one line naming the allowed forms, and nothing of the host reaches
// the build output.
func TestBuildRefusesHostPaths(t *testing.T) {
	t.Parallel()
	srv, url := markerRepo(t)
	b := testBuilder(t, 0)
	data := filepath.Dir(b.cfg.CacheDir)
	repos := filepath.Join(data, "repos")
	gittest.WriteFiles(t, repos, map[string]string{"other.git/HEAD": "ref: refs/heads/main-of-another-app\n"})
	vetted := b.cfg.BuildpackPaths[0]
	must(t, os.Symlink("/etc", filepath.Join(vetted, "etc")))
	for i, ref := range []string{
		"/etc", "/etc/", "/nonexistent", repos, repos + "/other.git", vetted + "/etc", vetted + "/../repos",
		"file:///etc", "file://" + repos + "/other.git", "file://" + filepath.Join(srv.Root, "marker.git"),
	} {
		want := `buildpack "` + ref + `" is not allowed: ` + buildpacks.RefForms
		for _, how := range []struct {
			prefix string
			req    Request
		}{
			{"BUILDPACK_URL: ", Request{Config: map[string]string{"BUILDPACK_URL": ref}, Source: tarball(t, file{name: "Procfile", body: "web: x\n"})}},
			{".buildpacks line 2: ", Request{Source: tarball(t, file{name: ".buildpacks", body: "# mine\n" + ref + "\n"})}},
		} {
			how.req.App = fmt.Sprintf("host-%d", i)
			msg, out := buildErr(t, b, how.req)
			if msg != how.prefix+want {
				t.Errorf("%s%s: %q", how.prefix, ref, msg)
			}
			if strings.Contains(out, "root:") || strings.Contains(out, "main-of-another-app") || strings.Contains(out, "Fetching") {
				t.Errorf("%s: output shows the host:\n%s", ref, out)
			}
		}
	}
	// Without the test knob the loopback git server is never asked.
	for _, ref := range []string{url, url + "#v1", strings.Replace(url, "127.0.0.1", "localhost", 1)} {
		msg, out := buildErr(t, b, Request{App: "loopback", Config: map[string]string{"BUILDPACK_URL": ref},
			Source: tarball(t, file{name: "Procfile", body: "web: x\n"})})
		if want := "buildpack " + ref + ": its server is at a loopback address, which buildpacks are never fetched from"; msg != want {
			t.Errorf("%s: %q, want %q", ref, msg, want)
		}
		if strings.Contains(out, "compiling") {
			t.Errorf("%s was fetched:\n%s", ref, out)
		}
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("the loopback git server had %d requests", n)
	}
}

// TestBuildMasksTokens: a token in a git buildpack's URL is not shown in
// the build output nor recorded with the build.
func TestBuildMasksTokens(t *testing.T) {
	t.Parallel()
	srv, url := markerRepo(t)
	withToken := strings.Replace(url, "http://", "http://user:tok3n-secret@", 1)
	b := testBuilder(t, 0, allowLoopback)
	res, out := build(t, b, Request{Config: map[string]string{"BUILDPACK_URL": withToken + "#v1"},
		Source: tarball(t, file{name: "Procfile", body: "web: x\n"})})
	want := strings.Replace(url, "http://", "http://user:xxxxx@", 1) + "#v1"
	if !slices.Equal(res.Buildpacks, []string{want}) {
		t.Errorf("buildpacks %q, want %q", res.Buildpacks, want)
	}
	if strings.Contains(out, "tok3n-secret") {
		t.Errorf("output shows the token:\n%s", out)
	}
	contains(t, out, "-----> Fetching buildpack "+want+"\n")
	if srv.Requests() == 0 {
		t.Error("nothing was fetched")
	}
}

// TestCheckConfig refuses, when it is set, a BUILDPACK_URL a build would
// refuse, with the build's line; other vars and allowed URLs pass.
func TestCheckConfig(t *testing.T) {
	b := testBuilder(t, time.Minute)
	for _, v := range []string{"/etc", "file:///etc", "ext::sh -c id", "-x"} {
		err := b.CheckConfig(map[string]string{"BUILDPACK_URL": v})
		if msg, ok := paas.UserMessage(err); !ok || !strings.HasPrefix(msg, "BUILDPACK_URL: ") || !strings.Contains(msg, "is not allowed") {
			t.Errorf("BUILDPACK_URL=%q: %v", v, err)
		}
	}
	for _, set := range []map[string]string{
		{"BUILDPACK_URL": "https://github.com/heroku/heroku-buildpack-python#v1"},
		{"BUILDPACK_URL": "python"},
		{"BUILDPACK_URL": ""},
		{"OTHER": "/etc"},
	} {
		if err := b.CheckConfig(set); err != nil {
			t.Errorf("%v: %v", set, err)
		}
	}
}
