package gateway

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	gitobject "github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"paas"
)

// Limits of an archive git:from-archive reads.
const (
	// maxArchiveRead bounds the bytes read from stdin, compressed.
	maxArchiveRead int64 = 100 << 20
	// maxArchiveBytes bounds the files' bytes once uncompressed.
	maxArchiveBytes int64 = 100 << 20
	// maxArchiveFiles bounds the files of the tree.
	maxArchiveFiles = 100_000
	// maxArchiveName and maxArchiveDepth bound one entry's name.
	maxArchiveName  = 4096
	maxArchiveDepth = 256
)

// errArchiveTooLarge is an archive over the limits.
var errArchiveTooLarge = paas.Errorf("the archive is larger than %d MB (or %d MB unpacked, or %d files)",
	maxArchiveRead>>20, maxArchiveBytes>>20, maxArchiveFiles)

// archiveNode is a file or a directory of the tree an archive makes.
type archiveNode struct {
	mode     filemode.FileMode
	hash     plumbing.Hash           // a file's blob
	link     string                  // a symlink's target
	children map[string]*archiveNode // a directory's entries
}

func newDir() *archiveNode {
	return &archiveNode{mode: filemode.Dir, children: map[string]*archiveNode{}}
}

// archiveCommit reads a tar or tar.gz archive (told apart by their magic
// bytes) from r, writes its files into st as blobs and trees, and
// returns the tree: files, directories and symbolic links that stay
// inside the tree, nothing else. Entry names must be relative, without
// "..", and not name ".git"; a single top-level directory is stripped,
// as Dokku does. Errors a user may read are *paas.Error.
func archiveTree(st storer.EncodedObjectStorer, r io.Reader) (plumbing.Hash, int, error) {
	counted := &limitedReader{r: r, n: maxArchiveRead}
	unpacked := &limitedReader{n: 2 * maxArchiveBytes}
	br := bufio.NewReaderSize(counted, 64<<10)
	var in io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return plumbing.ZeroHash, 0, archiveError(counted, unpacked, "not a valid gzip stream", err)
		}
		defer zr.Close()
		in = zr
	}
	// Headers, padding and skipped bodies count too, so that a small
	// gzip stream cannot make endless bytes to read.
	unpacked.r = in
	tb := bufio.NewReaderSize(unpacked, 64<<10)
	if head, err := tb.Peek(512); len(head) < 512 || string(head[257:262]) != "ustar" {
		if counted.over || unpacked.over {
			return plumbing.ZeroHash, 0, errArchiveTooLarge
		}
		if len(head) == 0 && err != nil {
			return plumbing.ZeroHash, 0, paas.Errorf("nothing on stdin: send a tar or tar.gz archive (paas git:from-archive FILE)")
		}
		return plumbing.ZeroHash, 0, paas.Errorf("not a tar or tar.gz archive (zip, bzip2 and xz are not read)")
	}
	root := newDir()
	var size int64
	files := 0
	tr := tar.NewReader(tb)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return plumbing.ZeroHash, 0, archiveError(counted, unpacked, "not a valid tar stream", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, skip, err := archiveName(hdr.Name)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		if skip {
			continue
		}
		node := &archiveNode{}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if _, err := root.dir(name, true); err != nil {
				return plumbing.ZeroHash, 0, err
			}
			continue
		case tar.TypeReg:
			for k := range hdr.PAXRecords {
				if strings.HasPrefix(k, "GNU.sparse.") {
					return plumbing.ZeroHash, 0, paas.Errorf("the archive's %q is a sparse file, which is not read", hdr.Name)
				}
			}
			size += hdr.Size
			if size > maxArchiveBytes {
				return plumbing.ZeroHash, 0, errArchiveTooLarge
			}
			node.mode = filemode.Regular
			if hdr.Mode&0o111 != 0 {
				node.mode = filemode.Executable
			}
			h, err := writeBlob(st, tr, hdr.Size)
			if err != nil {
				return plumbing.ZeroHash, 0, archiveError(counted, unpacked, "not a valid tar stream", err)
			}
			node.hash = h
		case tar.TypeSymlink:
			if !linkStaysInside(name, hdr.Linkname) {
				return plumbing.ZeroHash, 0, paas.Errorf("the archive's symbolic link %q points outside the tree", hdr.Name)
			}
			h, err := writeBlob(st, strings.NewReader(hdr.Linkname), int64(len(hdr.Linkname)))
			if err != nil {
				return plumbing.ZeroHash, 0, err
			}
			node.mode, node.hash, node.link = filemode.Symlink, h, hdr.Linkname
		default:
			return plumbing.ZeroHash, 0, paas.Errorf("the archive's %q is not a file, directory or symbolic link", hdr.Name)
		}
		parent, err := root.dir(path.Dir(name), true)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		base := path.Base(name)
		if old := parent.children[base]; old != nil && old.children != nil {
			return plumbing.ZeroHash, 0, paas.Errorf("the archive has %q both as a directory and as a file", name)
		}
		if parent.children[base] == nil {
			files++
		}
		if files > maxArchiveFiles {
			return plumbing.ZeroHash, 0, errArchiveTooLarge
		}
		parent.children[base] = node
	}
	if files == 0 {
		return plumbing.ZeroHash, 0, paas.Errorf("the archive holds no files")
	}
	// One top-level directory and nothing else: its content is the tree.
	if len(root.children) == 1 {
		for _, only := range root.children {
			if only.children != nil {
				root = only
				if err := root.checkLinks(""); err != nil {
					return plumbing.ZeroHash, 0, err
				}
			}
		}
	}
	h, err := root.write(st)
	return h, files, err
}

// archiveError is a tar or gzip stream that ended in error: too large
// when the limit cut it, else broken.
func archiveError(compressed, unpacked *limitedReader, what string, err error) error {
	if compressed.over || unpacked.over {
		return errArchiveTooLarge
	}
	return &paas.Error{Msg: "the archive is " + what, Err: err}
}

// archiveName checks an entry's name and returns it cleaned; skip is set
// for the archive's root itself and for anything under a .git directory.
func archiveName(name string) (string, bool, error) {
	if name == "" || strings.HasPrefix(name, "/") || len(name) > maxArchiveName || strings.Count(name, "/") > maxArchiveDepth ||
		strings.ContainsAny(name, "\x00\\") {
		return "", false, paas.Errorf("the archive has an unsafe path %q", shorten(name))
	}
	clean := path.Clean(name)
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", false, paas.Errorf("the archive has an unsafe path %q", shorten(name))
		}
	}
	for _, part := range strings.Split(clean, "/") {
		if strings.EqualFold(part, ".git") {
			return "", true, nil
		}
	}
	return clean, clean == ".", nil
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// linkStaysInside reports whether a symbolic link at name (in the tree)
// to target resolves, lexically, within the tree.
func linkStaysInside(name, target string) bool {
	if target == "" || strings.HasPrefix(target, "/") || strings.ContainsRune(target, 0) {
		return false
	}
	p := path.Join(path.Dir(name), target)
	return p != ".." && !strings.HasPrefix(p, "../")
}

// checkLinks checks the links under n again once a top-level directory
// is stripped: each must still stay inside the tree.
func (n *archiveNode) checkLinks(at string) error {
	for name, c := range n.children {
		p := path.Join(at, name)
		switch {
		case c.children != nil:
			if err := c.checkLinks(p); err != nil {
				return err
			}
		case c.mode == filemode.Symlink && !linkStaysInside(p, c.link):
			return paas.Errorf("the archive's symbolic link %q points outside the tree", p)
		}
	}
	return nil
}

// dir returns the directory at name under n, made when create is set.
func (n *archiveNode) dir(name string, create bool) (*archiveNode, error) {
	if name == "." {
		return n, nil
	}
	cur := n
	for _, part := range strings.Split(name, "/") {
		next := cur.children[part]
		if next == nil {
			next = newDir()
			cur.children[part] = next
		}
		if next.children == nil {
			return nil, paas.Errorf("the archive has %q both as a file and as a directory", name)
		}
		cur = next
	}
	return cur, nil
}

// write stores the tree of n and those below it, and returns its hash.
// Empty directories are left out, as git does.
func (n *archiveNode) write(st storer.EncodedObjectStorer) (plumbing.Hash, error) {
	var t gitobject.Tree
	for name, c := range n.children {
		h := c.hash
		if c.children != nil {
			if len(c.children) == 0 {
				continue
			}
			var err error
			if h, err = c.write(st); err != nil {
				return plumbing.ZeroHash, err
			}
			if h.IsZero() {
				continue
			}
		}
		t.Entries = append(t.Entries, gitobject.TreeEntry{Name: name, Mode: c.mode, Hash: h})
	}
	if len(t.Entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	// git's order: a directory sorts as if its name ended in '/'.
	key := func(e gitobject.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	slices.SortFunc(t.Entries, func(a, b gitobject.TreeEntry) int { return strings.Compare(key(a), key(b)) })
	obj := st.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding a tree: %w", err)
	}
	return st.SetEncodedObject(obj)
}

// writeBlob stores the size bytes of r as a blob.
func writeBlob(st storer.EncodedObjectStorer, r io.Reader, size int64) (plumbing.Hash, error) {
	obj := st.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(size)
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := io.CopyN(w, r, size); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}

// writeCommit stores a commit of tree on parent ("" for none) by name,
// and returns it.
func writeCommit(st storer.EncodedObjectStorer, tree plumbing.Hash, parent, name, msg string, when time.Time) (plumbing.Hash, error) {
	sig := gitobject.Signature{Name: name, Email: name + "@paas", When: when}
	c := gitobject.Commit{Author: sig, Committer: sig, Message: msg + "\n", TreeHash: tree}
	if parent != "" {
		c.ParentHashes = []plumbing.Hash{plumbing.NewHash(parent)}
	}
	obj := st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding the commit: %w", err)
	}
	return st.SetEncodedObject(obj)
}

// limitedReader reads at most n bytes of r, and says whether r had more.
type limitedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One byte more tells a stream of exactly n from a longer one.
		var b [1]byte
		if k, _ := l.r.Read(b[:]); k > 0 {
			l.over = true
			return 0, errArchiveTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}
