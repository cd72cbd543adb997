package builder

import (
	"context"
	"errors"
	"maps"
	"os"
	"paas"
	"paas/internal/syncbuf"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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

// markerRepo makes a git repository whose branch v1 holds the "v1" marker
// buildpack and whose main branch, one commit later, the "v2" one.
func markerRepo(t *testing.T) string {
	repo := gitRepo(t)
	writeFiles(t, repo, markerBuildpack("v1"))
	git(t, repo, "add", ".")
	git(t, repo, "commit", "--quiet", "-m", "v1")
	git(t, repo, "branch", "v1")
	writeFiles(t, repo, markerBuildpack("v2"))
	git(t, repo, "commit", "--quiet", "-am", "v2")
	return repo
}

func TestBuildCustomBuildpack(t *testing.T) {
	t.Parallel()
	repo := markerRepo(t)
	v1 := git(t, repo, "rev-parse", "v1")
	for _, tc := range []struct {
		name   string
		config map[string]string
		files  []file
		marker string
	}{
		{"dotfile with branch", nil, []file{{name: ".buildpacks", body: "# ours\nfile://" + repo + "#v1\n"}}, "v1"},
		{"dotfile with commit", nil, []file{{name: ".buildpacks", body: "file://" + repo + "#" + v1 + "\n"}}, "v1"},
		{"dotfile local repo path", nil, []file{{name: ".buildpacks", body: repo + "\n"}}, "v2"},
		{"config", map[string]string{"BUILDPACK_URL": "file://" + repo}, nil, "v2"},
		{"config wins over dotfile", map[string]string{"BUILDPACK_URL": "file://" + repo + "#v1"},
			[]file{{name: ".buildpacks", body: "procfile\n"}}, "v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := testBuilder(t, 0)
			files := append(tc.files, file{name: "Procfile", body: "worker: ./override\n"})
			res, out := build(t, b, Request{Config: tc.config, Source: tarball(t, files...)})
			got, err := os.ReadFile(filepath.Join(res.Slug, "marker"))
			if err != nil || strings.TrimSpace(string(got)) != tc.marker {
				t.Errorf("marker %q (%v), want %q", got, err, tc.marker)
			}
			want := map[string]string{"web": "serve " + tc.marker, "worker": "./override"}
			if !maps.Equal(res.ProcessTypes, want) {
				t.Errorf("process types %q, want %q", res.ProcessTypes, want)
			}
			if len(res.Buildpacks) != 1 || !strings.Contains(res.Buildpacks[0], repo) {
				t.Errorf("buildpacks %q", res.Buildpacks)
			}
			contains(t, out, "-----> Marker app detected\n", "-----> compiling "+tc.marker+"\n")
		})
	}
}

func TestBuildMultipleBuildpacksExport(t *testing.T) {
	t.Parallel()
	first := gitRepo(t)
	writeFiles(t, first, map[string]string{
		"bin/detect":  "#!/usr/bin/env bash\necho First\n",
		"bin/compile": "#!/usr/bin/env bash\nbp=$(cd \"$(dirname \"$0\")/..\" && pwd)\nprintf 'export GREETING=\"hello from first\"\\nTOOL_HOME=/opt/tool\\n' > \"$bp/export\"\n",
		"bin/release": "#!/usr/bin/env bash\nprintf 'default_process_types:\\n  web: first\\n  worker: first\\n'\n",
	})
	git(t, first, "add", ".")
	git(t, first, "commit", "--quiet", "-m", "first")

	// The second buildpack is a plain directory used as it is.
	second := t.TempDir()
	writeFiles(t, second, map[string]string{
		"bin/detect":  "#!/usr/bin/env bash\necho Second\n",
		"bin/compile": "#!/usr/bin/env bash\necho \"$GREETING|$TOOL_HOME\" > \"$1/seen\"\n",
		"bin/release": "#!/usr/bin/env bash\nprintf 'default_process_types:\\n  web: second\\n'\n",
	})

	b := testBuilder(t, 0)
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: ".buildpacks", body: "file://" + first + "\n" + second + "\n"},
	)})
	got, err := os.ReadFile(filepath.Join(res.Slug, "seen"))
	if err != nil || string(got) != "hello from first|/opt/tool\n" {
		t.Errorf("second buildpack saw %q (%v)", got, err)
	}
	if want := map[string]string{"web": "second", "worker": "first"}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	if want := []string{"file://" + first, second}; !slices.Equal(res.Buildpacks, want) {
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
	repo := markerRepo(t)
	failing := t.TempDir()
	writeFiles(t, failing, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\necho 'about to fail'\nexit 3\n",
	})
	picky := t.TempDir()
	writeFiles(t, picky, map[string]string{
		"bin/detect":  "#!/usr/bin/env bash\nexit 1\n",
		"bin/compile": "#!/usr/bin/env bash\n",
	})
	for _, tc := range []struct {
		name, buildpack, msg, out string
	}{
		{"compile fails", failing, "buildpack " + failing + " failed: bin/compile exit status 3", "about to fail\n"},
		{"detect fails", picky, "buildpack " + picky + " does not apply to this app", ""},
		{"unknown ref", "file://" + repo + "#nope", `no branch, tag or commit "nope"`, ""},
		{"missing repo", "file://" + repo + "-missing", "git clone failed (exit status 128)", ""},
		{"relative path", "some/dir", "expected a git URL, an absolute path or a built-in name", ""},
		{"missing dir", "/nonexistent/buildpack", "no such directory on the server", ""},
		{"ref on plain dir", failing + "#v1", "is not a git repository", ""},
		{"ext transport", "ext::sh -c touch% /tmp/paas-pwned", "invalid buildpack", ""},
		{"ext transport no spaces", "ext::false", "git clone failed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := testBuilder(t, 0)
			msg, out := buildErr(t, b, Request{
				Config: map[string]string{"BUILDPACK_URL": tc.buildpack},
				Source: tarball(t, file{name: "Procfile", body: "web: x\n"}),
			})
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q lacks %q", msg, tc.msg)
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
	slow := t.TempDir()
	// The compile leaves a child behind in its process group and waits.
	writeFiles(t, slow, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\nsleep 300 &\necho $! > \"$(cat \"$3/PID_FILE\")\"\necho started\nwait\n",
	})
	b := testBuilder(t, 2*time.Second)
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
	slow := t.TempDir()
	writeFiles(t, slow, map[string]string{"bin/compile": "#!/usr/bin/env bash\necho started\nexec sleep 300\n"})
	b := testBuilder(t, 0)
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncbuf.Buffer{}
	errc := make(chan error, 1)
	go func() {
		_, err := b.Build(ctx, Request{App: "app", Build: 1, Out: out,
			Config: map[string]string{"BUILDPACK_URL": slow},
			Source: tarball(t, file{name: "Procfile", body: "web: x\n"})})
		errc <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "started") {
		if time.Now().After(deadline) {
			t.Fatalf("compile did not start:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	envbp := t.TempDir()
	writeFiles(t, envbp, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\nset -e\nenv > \"$1/compile-env\"\nls \"$3\" > \"$1/env-dir-list\"\ncat \"$3/SECRET\" > \"$1/secret\"\necho \"$PWD\" > \"$1/cwd\"\n",
		"bin/release": "#!/usr/bin/env bash\necho '---'\necho 'default_process_types:'\necho '  web: x'\n",
	})
	b := testBuilder(t, 0)
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
	chatty := t.TempDir()
	// Far more output than a pipe buffers.
	writeFiles(t, chatty, map[string]string{
		"bin/compile": "#!/usr/bin/env bash\nfor i in $(seq 1 20000); do echo \"line $i of build output\"; done\n",
	})
	b := testBuilder(t, time.Minute)
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
