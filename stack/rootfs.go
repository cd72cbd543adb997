package stack

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"paas"
)

// installCABundle copies the host CA bundle at path (DefaultCABundle when
// empty) over the root's bundle, and into /usr/local/share/ca-certificates
// so that update-ca-certificates run later in the image keeps it. A missing
// default bundle is noted and skipped; a missing named one is an error.
func installCABundle(root, path string, out io.Writer) error {
	named := path != ""
	if !named {
		path = DefaultCABundle
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !named && errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(out, "       No host CA bundle at %s: keeping Debian's\n", path)
			return nil
		}
		return &paas.Error{Msg: fmt.Sprintf("reading the host CA bundle %s: %v", path, err), Err: err}
	}
	for _, dst := range []string{
		"etc/ssl/certs/ca-certificates.crt",
		"usr/local/share/ca-certificates/host-ca.crt",
	} {
		if err := writeReplacing(filepath.Join(root, dst), data); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "       %s (%d KB)\n", path, len(data)>>10)
	return nil
}

// writeReplacing writes data to path as a regular 0644 file, replacing a
// symlink or file there rather than writing through it (a symlink in the
// root must not lead outside it).
func writeReplacing(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("installing %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("installing %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("installing %s: %w", path, err)
	}
	return nil
}

// cleanRoot drops apt's downloaded packages and lists, which only make the
// image larger, and the build-time dpkg setting, and makes /app, the
// working directory.
func cleanRoot(root string) error {
	if err := os.Remove(filepath.Join(root, unsafeIOConf)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cleaning the stack root: %w", err)
	}
	debs, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb"))
	bins, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/*.bin"))
	lists, _ := filepath.Glob(filepath.Join(root, "var/lib/apt/lists/*"))
	for _, p := range append(append(debs, bins...), lists...) {
		if base := filepath.Base(p); base == "partial" || base == "lock" {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("cleaning the stack root: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
		return fmt.Errorf("making /app in the stack root: %w", err)
	}
	return nil
}
