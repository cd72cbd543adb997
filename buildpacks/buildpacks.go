// Package buildpacks holds the platform's built-in buildpacks and the
// parsers for the files that steer a build: the Procfile, the .buildpacks
// file and a buildpack's bin/release output.
//
// The built-in buildpacks follow Heroku's classic buildpack API: bin/detect
// BUILD_DIR exits 0 and prints a name when the buildpack applies, bin/compile
// BUILD_DIR CACHE_DIR ENV_DIR turns the tree into a runnable slug in place,
// and bin/release BUILD_DIR prints YAML naming default process types. They
// are bash scripts that need only bash, coreutils and the language tools on
// PATH, so the same scripts serve a host build and a build container.
package buildpacks

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

//go:embed builtin
var builtinFS embed.FS

// builtinOrder is the order in which the built-in buildpacks are detected.
var builtinOrder = []string{"go", "node", "python", "static", "procfile"}

// Builtin returns the names of the built-in buildpacks in detection order.
func Builtin() []string {
	return append([]string(nil), builtinOrder...)
}

// Extract writes every built-in buildpack to dir/NAME, scripts under bin/
// executable. It overwrites what is there, replacing each file atomically so
// that a build running an older copy is not disturbed.
func Extract(dir string) error {
	err := fs.WalkDir(builtinFS, "builtin", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel("builtin", filepath.FromSlash(name))
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := builtinFS.ReadFile(name)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if path.Base(path.Dir(name)) == "bin" {
			mode = 0o755
		}
		return writeFileAtomic(dst, data, mode)
	})
	if err != nil {
		return fmt.Errorf("extracting built-in buildpacks to %s: %w", dir, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to dst and renames it
// over dst.
func writeFileAtomic(dst string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, mode)
	}
	if werr == nil {
		werr = os.Rename(tmp, dst)
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	return nil
}
