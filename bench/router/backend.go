package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Response bodies the backend serves.
const (
	smallPath = "/"
	largePath = "/64k"
	smallSize = 12
	largeSize = 64 << 10
)

// runBackend is the backend role: a keep-alive HTTP/1.1 server on a free
// loopback port answering GET / with 12 bytes and GET /64k with 65536
// bytes. It prints its address on stdout and serves until killed.
func runBackend() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	small := []byte(strings.Repeat("x", smallSize-1) + "\n")
	large := []byte(strings.Repeat("x", largeSize-1) + "\n")
	smallLen, largeLen := []string{strconv.Itoa(smallSize)}, []string{strconv.Itoa(largeSize)}
	textPlain := []string{"text/plain"}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, n := small, smallLen
		if r.URL.Path == largePath {
			body, n = large, largeLen
		}
		// Header values are assigned, not set, so a response costs no
		// header canonicalisation or slice.
		hdr := w.Header()
		hdr["Content-Type"] = textPlain
		hdr["Content-Length"] = n
		w.Write(body)
	})
	fmt.Fprintln(os.Stdout, ln.Addr().String())
	srv := &http.Server{Handler: h}
	return srv.Serve(ln)
}
