package static

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// shutdownGrace bounds how long in-flight requests may finish after
// SIGTERM.
const shutdownGrace = 10 * time.Second

// Main serves the directory args[0] (default ".") on :$PORT (default 5000)
// until SIGTERM or SIGINT, then finishes the requests in flight. It returns
// the process exit status.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	port := os.Getenv("PORT")
	if port == "" {
		port = "5000"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		fmt.Fprintf(os.Stderr, "paas-static: invalid PORT %q\n", port)
		return 2
	}
	return run(ctx, args, ":"+port, os.Stderr, nil)
}

// run serves until ctx is done. ready, when set, is called with the
// listening address once requests are accepted.
func run(ctx context.Context, args []string, addr string, stderr io.Writer, ready func(net.Addr)) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if len(args) > 1 {
		fmt.Fprintln(stderr, "usage: paas-static [DIR]")
		return 2
	}
	dir := "."
	if len(args) == 1 {
		dir = args[0]
	}
	h, err := NewHandler(dir)
	if err != nil {
		log.Error("cannot serve", "dir", dir, "err", err)
		return 1
	}
	defer h.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("cannot listen", "addr", addr, "err", err)
		return 1
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "dir", dir, "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-served:
		log.Error("serving failed", "err", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("shutting down", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
