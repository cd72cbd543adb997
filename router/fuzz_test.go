package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzAppFor(f *testing.F) {
	for _, h := range []string{"hello.localhost", "HELLO.localhost:80", "hello.localhost.", "[::1]:80",
		"a.b.localhost", ".localhost", "localhost", "hello.localhost.:1", ""} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		app := appFor(normalizeHost(host), "localhost")
		if app == "" {
			return
		}
		if strings.Contains(app, ".") || app != strings.ToLower(app) {
			t.Fatalf("appFor(%q) = %q", host, app)
		}
		// Case, a port and a trailing dot do not change the answer.
		if again := appFor(normalizeHost(strings.ToUpper(app)+".LocalHost.:8080"), "localhost"); again != app &&
			strings.ToLower(strings.ToUpper(app)) == app {
			t.Fatalf("variant of %q gave %q", app, again)
		}
	})
}

func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", "x\r\ny", strings.Repeat("a", 200), strings.Repeat("a", 201), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id := requestID(in)
		if !validRequestID(id) {
			t.Fatalf("requestID(%q) = %q, not valid", in, id)
		}
		if validRequestID(in) != (id == in) {
			t.Fatalf("requestID(%q) = %q", in, id)
		}
	})
}

// FuzzFastHead: a head the fast path takes means to net/http exactly what
// it meant to the fast path, and the head it forwards does too, so no
// request can hide in another.
func FuzzFastHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a.localhost\r\n\r\n",
		"POST /x?y=1 HTTP/1.1\r\nHost: a.localhost:8080\r\nContent-Length: 5\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, keep-alive\r\nVia: 1.0 x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n Folded: x\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		br := bufio.NewReaderSize(strings.NewReader(raw), 4096)
		var h fastHead
		if readHead(br, &h) != headFast {
			return
		}
		std, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw[:h.size])))
		if err != nil {
			t.Fatalf("fast path took %q, net/http refuses it: %v", raw[:h.size], err)
		}
		check := func(what string, req *http.Request) {
			t.Helper()
			if req.Method != string(h.method) || req.RequestURI != string(h.target) || req.Host != string(h.host) ||
				req.ContentLength != max(h.contentLength, 0) || len(req.TransferEncoding) != 0 || req.Close != h.close {
				t.Fatalf("%s: net/http reads %q %q host %q length %d TE %v close %v; fast path %q %q %q %d %v",
					what, req.Method, req.RequestURI, req.Host, req.ContentLength, req.TransferEncoding, req.Close,
					h.method, h.target, h.host, h.contentLength, h.close)
			}
		}
		check("client head", std)

		fc := &frontConn{f: &Front{r: New(Config{Domain: "localhost"})}, head: h, peer: "127.0.0.1", port: []byte("80"), id: []byte("id")}
		out := string(fc.appendRequestHead(nil, time.Unix(0, 0)))
		fwd, err := http.ReadRequest(bufio.NewReader(strings.NewReader(out)))
		if err != nil {
			t.Fatalf("forwarded head %q: %v", out, err)
		}
		h.close = false // the forwarded head never asks to close
		check("forwarded head", fwd)
	})
}

// FuzzChunkSize: a size line the fast path accepts gives a size that is
// never negative and that strconv reads alike.
func FuzzChunkSize(f *testing.F) {
	for _, s := range []string{"0\r\n", "1a\r\n", "ffffffffffffffff\r\n", "5;ext=1\r\n", "x\r\n", "7fffffffffffffff\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		n, ok := chunkSize([]byte(line))
		if !ok {
			return
		}
		if n < 0 {
			t.Fatalf("chunkSize(%q) = %d", line, n)
		}
		hexDigits := strings.TrimRight(line[:len(line)-2], "\t ;")
		if i := strings.IndexAny(hexDigits, "; \t"); i >= 0 {
			hexDigits = hexDigits[:i]
		}
		if want, err := strconv.ParseInt(hexDigits, 16, 64); err != nil || want != n {
			t.Fatalf("chunkSize(%q) = %d, strconv: %d %v", line, n, want, err)
		}
	})
}

// FuzzFramingConn: whatever a client sends, in whatever pieces, a
// framingConn passes every byte on unchanged and in order; and while it
// says a connection may carry another request, the next request net/http
// reads is the next head it recorded, so what it says of a head is never
// said of another request.
func FuzzFramingConn(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /y HTTP/1.1\r\nHost: b\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /s HTTP/1.1\r\n\r\n",
		"POST /x HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.0\r\n\r\n",
		"GET /a HTTP/1.1\nHost: a\n\nGET /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
		"\r\n\r\nGET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n y\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(6))
	}
	f.Fuzz(func(t *testing.T, raw string, piece uint8) {
		all, err := io.ReadAll(newFramingConn(&pieceConn{rest: raw, piece: int(piece) + 1}, 512))
		if err != nil || string(all) != raw {
			t.Fatalf("passed on %q (%v), sent %q", all, err, raw)
		}

		fc := newFramingConn(&pieceConn{rest: raw, piece: int(piece) + 1}, 512)
		br := bufio.NewReader(fc)
		for keep := false; ; {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			info, ok := fc.claim(req.Method, req.RequestURI)
			if keep && !ok {
				t.Fatalf("net/http read %s %s, not the head recorded next", req.Method, req.RequestURI)
			}
			if ok && info.keep && (len(req.TransferEncoding) > 0 || req.ProtoMajor != 1) {
				t.Fatalf("%s %s: kept with transfer encoding %q, %s", req.Method, req.RequestURI, req.TransferEncoding, req.Proto)
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
			if keep = ok && info.keep; !keep {
				return // the connection closes after this request
			}
		}
	})
}

// pieceConn is a client connection that sends rest in pieces of piece
// bytes.
type pieceConn struct {
	net.Conn
	rest  string
	piece int
}

func (c *pieceConn) Read(p []byte) (int, error) {
	if c.rest == "" {
		return 0, io.EOF
	}
	n := copy(p, c.rest[:min(c.piece, len(c.rest))])
	c.rest = c.rest[n:]
	return n, nil
}
