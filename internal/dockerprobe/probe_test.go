package dockerprobe

import (
	"context"
	"net"
	"path/filepath"
	"testing"
)

// A listening socket accepts; the same path once its listener is closed,
// with a connection made before still open, does not.
func TestAccepts(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}
	if !Accepts(t.Context(), dial) {
		t.Fatal("a listening engine does not accept")
	}
	kept, err := dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	ln.Close()
	if Accepts(t.Context(), dial) {
		t.Fatal("an engine whose listener is closed accepts")
	}
}
