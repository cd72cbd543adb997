package builder

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"paas"
)

// extractTar writes the tar stream r into dir, which must exist. Entry names
// must be relative and free of ".." components; writes go through an
// os.Root, so a symlink in the tree can never carry a later entry outside
// dir. Symlinks themselves are created as they are. Regular files keep
// their executable bit and nothing else of their mode.
func extractTar(r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("opening build dir: %w", err)
	}
	defer root.Close()

	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &paas.Error{Msg: "source archive: not a valid tar stream", Err: err}
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		if err := extractEntry(root, tr, hdr, name); err != nil {
			var pe *paas.Error
			if errors.As(err, &pe) {
				return err
			}
			return &paas.Error{Msg: fmt.Sprintf("source archive: cannot write %q", hdr.Name), Err: err}
		}
	}
}

// Limits on entry names, far above what a source tree needs, that keep a
// crafted archive from making absurdly deep trees.
const (
	maxNameLen = 4096
	maxDepth   = 256
)

// entryName checks a tar entry name and returns it cleaned.
func entryName(name string) (string, error) {
	if name == "" || strings.HasPrefix(name, "/") {
		return "", paas.Errorf("source archive: unsafe path %q", name)
	}
	if len(name) > maxNameLen || strings.Count(name, "/") > maxDepth {
		return "", paas.Errorf("source archive: path too long or too deep (%.40s...)", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", paas.Errorf("source archive: unsafe path %q", name)
		}
	}
	return path.Clean(name), nil
}

func extractEntry(root *os.Root, tr *tar.Reader, hdr *tar.Header, name string) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return root.MkdirAll(name, 0o755)
	case tar.TypeReg:
		// A sparse file could expand to far more than the stream holds.
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return paas.Errorf("source archive: sparse file %q not supported", hdr.Name)
			}
		}
		if err := prepare(root, name); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if hdr.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		// The umask may have narrowed the mode given at creation.
		return root.Chmod(name, mode)
	case tar.TypeSymlink:
		if err := prepare(root, name); err != nil {
			return err
		}
		return root.Symlink(hdr.Linkname, name)
	default:
		return paas.Errorf("source archive: unsupported entry type for %q (only files, directories and symlinks)", hdr.Name)
	}
}

// prepare makes the parent directories of name and removes what is at name
// already, so that a repeated entry replaces the earlier one.
func prepare(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
