package router

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBadChunkIsRefusedBeforeTheInstance: a chunked body whose framing
// is broken gets 400 from the router, never the instance's answer, even
// from an instance that answers at once without reading the body (as
// Python's http.server does with 501 for a method it lacks). The request
// does not reach the instance at all.
func TestBadChunkIsRefusedBeforeTheInstance(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	var reached atomic.Int32
	eager := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		reached.Add(1)
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusNotImplemented)
	}))
	t.Cleanup(eager.Close)
	r.Set("a", []Backend{{Name: "web.1", Addr: eager.Listener.Addr().String()}})

	for i := range 50 {
		conn := dialTCP(t, srv.Listener.Addr().String())
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, "POST / HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
		res := readResponse(t, bufio.NewReader(conn))
		conn.Close()
		if res.status != 400 {
			t.Fatalf("try %d: status %d, want 400", i, res.status)
		}
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the instance got %d requests with a broken body", n)
	}
}

// TestChunkedBodyFraming: a chunked body that ends within the read-ahead
// (up to 64 KiB) reaches the instance whole with a Content-Length; a
// longer one streams to it chunked, intact.
func TestChunkedBodyFraming(t *testing.T) {
	r, srv, _ := setup(t, Config{})
	type got struct {
		length int64
		te     []string
		sum    [32]byte
		n      int
	}
	seen := make(chan got, 1)
	inst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("instance reading the body: %v", err)
		}
		seen <- got{req.ContentLength, req.TransferEncoding, sha256.Sum256(b), len(b)}
	}))
	t.Cleanup(inst.Close)
	r.Set("a", []Backend{{Name: "web.1", Addr: inst.Listener.Addr().String()}})

	for _, size := range []int{0, 1, aheadSize - 1, aheadSize, aheadSize + 1, 3*aheadSize + 17} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			payload := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
			req, _ := http.NewRequest("POST", srv.URL+"/up", io.MultiReader(bytes.NewReader(payload)))
			req.Host = "a.localhost"
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			g := <-seen
			if g.n != size || g.sum != sha256.Sum256(payload) {
				t.Errorf("the instance got %d bytes, not the %d sent", g.n, size)
			}
			whole := size <= aheadSize
			switch {
			case whole && (g.length != int64(size) || len(g.te) != 0):
				t.Errorf("a body within the read-ahead came with length %d and %q, want %d and no Transfer-Encoding", g.length, g.te, size)
			case !whole && (g.length != -1 || strings.Join(g.te, ",") != "chunked"):
				t.Errorf("a longer body came with length %d and %q, want it chunked", g.length, g.te)
			}
		})
	}
}
