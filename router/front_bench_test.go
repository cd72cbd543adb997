package router

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
)

// BenchmarkRouterFastPath sends keep-alive requests through the fast path
// to an instance that answers 12 bytes; client and instance are raw
// loops that allocate nothing, so allocs/op are the router's.
func BenchmarkRouterFastPath(b *testing.B) {
	benchFastPath(b, Config{Domain: "localhost", AccessLog: func(app, line string) {}})
}

// benchFastPath is BenchmarkRouterFastPath with the router configured by
// cfg.
func benchFastPath(b *testing.B, cfg Config) {
	r := New(cfg)
	defer r.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go rawServe(ln, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n"))
	r.Set("bench", []Backend{{Name: "web.1", Addr: ln.Addr().String()}})
	fln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	f := NewFront(r, ServerLimits{}, r)
	go f.Serve(fln)
	defer f.Close()

	c, err := net.Dial("tcp", fln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /x HTTP/1.1\r\nHost: bench.localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReader(c)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := readRawResponse(br); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if f.FastRequests() < uint64(b.N) {
		b.Fatalf("fast path served %d of %d", f.FastRequests(), b.N)
	}
}

// rawServe answers every request head on every connection with resp.
func rawServe(ln net.Listener, resp []byte) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) == 2 {
						break
					}
				}
				if _, err := c.Write(resp); err != nil {
					return
				}
			}
		}()
	}
}

// readRawResponse reads one response with a Content-Length.
func readRawResponse(br *bufio.Reader) error {
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) == 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n = int(atoi(bytes.TrimSpace(v)))
		}
	}
	if n < 0 {
		return io.ErrUnexpectedEOF
	}
	_, err := br.Discard(n)
	return err
}
