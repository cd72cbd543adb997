package builder

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"paas/internal/owner"
)

// TestBuildAsAppUser builds on the host as the app's own user: the steps
// run as it (the Go build reads ENV_DIR and fills the cache), the slug
// and cache become its and closed to others, and a cache left by a build
// that ran as root is taken over.
func TestBuildAsAppUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running build steps as another user needs root (CAP_SETUID)")
	}
	t.Parallel()
	data := t.TempDir()
	// The app's user must pass through the test's directories.
	for _, d := range []string{filepath.Dir(data), data} {
		must(t, os.Chmod(d, 0o711))
	}
	const uid, gid = 123491, 123492
	cfg := Config{
		BuildpacksDir: filepath.Join(data, "buildpacks"),
		CacheDir:      filepath.Join(data, "cache"),
		SlugsDir:      filepath.Join(data, "slugs"),
	}
	src := func() Request {
		return Request{
			Config: map[string]string{"GO_INSTALL_PACKAGE_SPEC": "./cmd/a"},
			Source: tarball(t,
				file{name: "go.mod", body: "module example.com/tools\n\ngo 1.22\n"},
				file{name: "cmd/a/main.go", body: "package main\n\nfunc main() {}\n"},
				file{name: "cmd/b/main.go", body: "package main\n\nfunc main() {}\n"},
				file{name: "Procfile", body: "worker: a\n"},
			),
		}
	}

	// A build as this process's user, as before apps had users.
	asRoot, err := New(cfg)
	must(t, err)
	build(t, asRoot, src())
	cache := filepath.Join(data, "cache", "app", "cache")
	if mine, err := owner.Owns(filepath.Join(cache, "go", "build"), 0); err != nil || !mine {
		t.Fatalf("the first build's cache is not root's (%v)", err)
	}

	cfg.Credential = func(app string) (*syscall.Credential, error) {
		return &syscall.Credential{Uid: uid, Gid: gid}, nil
	}
	asUser, err := New(cfg)
	must(t, err)
	req := src()
	req.Build = 2
	res, _ := build(t, asUser, req)

	// Only the package ENV_DIR names was installed: the user read it.
	if _, err := os.Stat(filepath.Join(res.Slug, "bin", "a")); err != nil {
		t.Errorf("bin/a: %v", err)
	}
	if _, err := os.Stat(filepath.Join(res.Slug, "bin", "b")); err == nil {
		t.Error("bin/b was installed: compile did not read GO_INSTALL_PACKAGE_SPEC from ENV_DIR")
	}
	for path, want := range map[string]struct {
		uid  int
		mode os.FileMode
	}{
		res.Slug:                                    {uid, 0o700},
		filepath.Join(res.Slug, "bin", "a"):         {uid, 0},
		filepath.Join(res.Slug, "go.mod"):           {uid, 0},
		filepath.Join(data, "slugs", "app"):         {0, 0o711},
		filepath.Join(data, "cache", "app"):         {0, 0o711},
		cache:                                       {uid, 0o700},
		filepath.Join(cache, "go", "build"):         {uid, 0},
		filepath.Join(data, "cache", "app", "home"): {uid, 0o700},
	} {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != want.uid || (want.uid == uid && st.Gid != gid) {
			t.Errorf("%s is owned by %d:%d, want uid %d", path, st.Uid, st.Gid, want.uid)
		}
		if want.mode != 0 && fi.Mode().Perm() != want.mode {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want.mode)
		}
	}

	// The server still removes what the user made.
	must(t, asUser.Remove("app"))
	for _, d := range []string{filepath.Join(data, "slugs", "app"), filepath.Join(data, "cache", "app")} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s after Remove: %v", d, err)
		}
	}
}
