package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of the data dir's entries when apps run as users of their own.
// The slugs and caches (and the add-on services' data) are reached through directories that can be
// passed but not listed; an app's own slug and cache are its user's and
// closed to everyone else (the builder and the runtime see to that). The
// built-in buildpacks are public. Everything else (the store, the host
// key, repos, logs, the run dir with paasd's sockets, scratch space) is
// root's alone.
var appReachable = map[string]fs.FileMode{
	"slugs":      0o711, // slugs/APP/bN
	"cache":      0o711, // cache/APP/{cache,home,build-*}
	"buildpacks": 0o755,
	"addons":     0o711, // addons/NAME/data, each service's own
}

// confineDataDir sets the modes above on the data dir, whose own mode is
// 0711: apps pass through it to their slugs but cannot list it. Other
// entries become 0700 (directories) or 0600; symbolic links are left
// alone. The directories of the apps under slugs and cache become 0711.
func confineDataDir(dataDir string) error {
	if err := os.Chmod(dataDir, 0o711); err != nil {
		return fmt.Errorf("confining the data dir: %w", err)
	}
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		return fmt.Errorf("confining the data dir: %w", err)
	}
	for _, e := range ents {
		p := filepath.Join(dataDir, e.Name())
		mode, reachable := appReachable[e.Name()]
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			continue
		case reachable && e.IsDir():
		case e.IsDir():
			mode = 0o700
		default:
			mode = 0o600
		}
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("confining the data dir: %w", err)
		}
		if mode != 0o711 || !e.IsDir() {
			continue
		}
		apps, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("confining the data dir: %w", err)
		}
		for _, a := range apps {
			if a.IsDir() {
				if err := os.Chmod(filepath.Join(p, a.Name()), 0o711); err != nil {
					return fmt.Errorf("confining the data dir: %w", err)
				}
			}
		}
	}
	return nil
}

// checkReachable makes sure the apps' users can get to their slugs,
// which needs every directory above the data dir to be passable by
// others, and can read paasd's executable, which static apps copy into
// their slug. It names the first obstacle.
func checkReachable(dataDir, exe string) error {
	for _, target := range []struct{ path, what string }{
		{dataDir, "the data dir (PAAS_DATA_DIR)"},
		{exe, "paasd's executable"},
	} {
		path, err := filepath.EvalSymlinks(target.path)
		if err != nil {
			return fmt.Errorf("checking that apps can reach %s: %w", target.what, err)
		}
		for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
			fi, err := os.Stat(dir)
			if err != nil {
				return fmt.Errorf("checking that apps can reach %s: %w", target.what, err)
			}
			if fi.Mode().Perm()&0o001 == 0 {
				return fmt.Errorf("apps run as users of their own cannot reach %s %s: %s is closed to other users (chmod o+x %s, or move it)",
					target.what, path, dir, dir)
			}
			if dir == filepath.Dir(dir) {
				break
			}
		}
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return fmt.Errorf("checking paasd's executable: %w", err)
	}
	if fi.Mode().Perm()&0o005 != 0o005 {
		return fmt.Errorf("apps run as users of their own cannot read paasd's executable %s, which static apps copy (chmod o+rx %s)", exe, exe)
	}
	return nil
}
