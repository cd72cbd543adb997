// Package static is the file server of static-site slugs. paasd runs it
// when invoked under the name paas-static: `paas-static DIR` serves DIR on
// $PORT.
package static

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// Handler serves the files of one directory: index.html for a directory,
// 404 (the directory's 404.html when there is one) for anything missing,
// for directories without an index, for hidden files (a path component
// starting with a dot, .well-known excepted, as web servers are commonly
// set up: .env, .git, .profile.d) and for the server's own executable,
// which the static buildpack installs in the slug (bin/paas-static), so
// that a site served from the slug's root does not serve it. Links inside
// the directory are followed; links out of it are not.
type Handler struct {
	root *os.Root
	self os.FileInfo // the running executable
}

// NewHandler returns a Handler serving dir.
func NewHandler(dir string) (*Handler, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the server's executable: %w", err)
	}
	self, err := os.Stat(exe)
	if err != nil {
		return nil, fmt.Errorf("finding the server's executable: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	return &Handler{root: root, self: self}, nil
}

// Close releases the served directory.
func (h *Handler) Close() error { return h.root.Close() }

// ServeHTTP serves GET and HEAD requests for files.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	urlPath := r.URL.Path
	if !strings.HasPrefix(urlPath, "/") {
		urlPath = "/" + urlPath
	}
	name := strings.TrimPrefix(path.Clean(urlPath), "/")
	if name == "" {
		name = "."
	}
	if hidden(name) {
		h.notFound(w, r)
		return
	}
	f, fi, err := h.open(name)
	if err != nil {
		h.notFound(w, r)
		return
	}
	defer f.Close()

	if fi.IsDir() {
		if !strings.HasSuffix(urlPath, "/") {
			// A relative redirect, so that no request path can send the
			// client to another host.
			target := "./" + path.Base(urlPath) + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		f.Close()
		name = path.Join(name, "index.html")
		if f, fi, err = h.open(name); err != nil || fi.IsDir() {
			h.notFound(w, r)
			return
		}
		defer f.Close()
	} else if strings.HasSuffix(urlPath, "/") {
		h.notFound(w, r)
		return
	}
	serve(w, r, name, fi, f, http.StatusOK)
}

// open opens a file of the served directory.
func (h *Handler) open(name string) (*os.File, fs.FileInfo, error) {
	f, err := h.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, errors.New("not a regular file")
	}
	if os.SameFile(fi, h.self) {
		f.Close()
		return nil, nil, errors.New("the server's own executable")
	}
	return f, fi, nil
}

// notFound answers 404 with the site's 404.html when it has one.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	if f, fi, err := h.open("404.html"); err == nil {
		defer f.Close()
		if !fi.IsDir() {
			serve(w, r, "404.html", fi, f, http.StatusNotFound)
			return
		}
	}
	http.Error(w, "404 page not found", http.StatusNotFound)
}

// serve writes a file with its content type and caching headers. A 200
// goes through http.ServeContent for ranges and conditional requests.
func serve(w http.ResponseWriter, r *http.Request, name string, fi fs.FileInfo, f *os.File, status int) {
	hdr := w.Header()
	if ct := contentType(name); ct != "" {
		hdr.Set("Content-Type", ct)
	}
	hdr.Set("X-Content-Type-Options", "nosniff")
	if status != http.StatusOK {
		hdr.Set("Cache-Control", "no-cache")
		hdr.Set("Content-Length", fmt.Sprint(fi.Size()))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			io.Copy(w, f)
		}
		return
	}
	hdr.Set("Cache-Control", cacheControl(name))
	hdr.Set("ETag", fmt.Sprintf(`W/"%x-%x"`, fi.ModTime().UnixNano(), fi.Size()))
	http.ServeContent(w, r, name, fi.ModTime().Truncate(time.Second), f)
}

// hidden reports whether a path has a component starting with '.', other
// than .well-known: dotfiles of a site are not served.
func hidden(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") && part != "." && part != ".well-known" {
			return true
		}
	}
	return false
}

// types fixes the content types that matter most for the web, whatever the
// system's mime tables say.
var types = map[string]string{
	".html":        "text/html",
	".htm":         "text/html",
	".css":         "text/css",
	".js":          "text/javascript",
	".mjs":         "text/javascript",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain",
	".md":          "text/markdown",
	".csv":         "text/csv",
	".xml":         "text/xml",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".wasm":        "application/wasm",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".pdf":         "application/pdf",
}

// contentType returns the content type of name by its extension, with
// charset=utf-8 for text, or "" to let the content decide.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	ct, ok := types[ext]
	if !ok {
		ct = mime.TypeByExtension(ext)
	}
	if ct == "" {
		return ""
	}
	if strings.HasPrefix(ct, "text/") && !strings.Contains(ct, "charset=") {
		ct += "; charset=utf-8"
	}
	return ct
}

// cacheControl lets browsers keep assets for an hour but revalidate pages
// on every visit, so a deploy shows at once.
func cacheControl(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".html", ".htm", "":
		return "no-cache"
	}
	return "public, max-age=3600"
}
