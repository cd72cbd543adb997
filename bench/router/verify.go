package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// verifyClient sends requests the way wrk does: keep-alive, no proxy from
// the environment.
var verifyClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}

// verify checks that t answers each of the backend's paths, for host
// bench.localhost, with 200 and the backend's body size: a proxy that
// answers from elsewhere (a default page, say) would otherwise be
// measured as fast.
func verify(t *target) error {
	for _, sz := range sizes {
		req, err := http.NewRequest("GET", "http://"+t.p.addr+sz.path, nil)
		if err != nil {
			return err
		}
		req.Host = benchHost
		res, err := verifyClient.Do(req)
		if err != nil {
			return fmt.Errorf("%s: GET %s: %w", t.name, sz.path, err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || n != int64(sz.size) {
			return fmt.Errorf("%s: GET %s: status %d with %d bytes (%v), want 200 with %d", t.name, sz.path, res.StatusCode, n, err, sz.size)
		}
	}
	return nil
}
