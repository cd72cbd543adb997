package paasd

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// pollEvery is the pause between two requests of WaitServing.
const pollEvery = 5 * time.Millisecond

// WaitRelease polls app through the router (GET / for APP.localhost)
// until it answers 200 naming a release that done accepts, ctx ends or
// limit passes, and returns that release's number. The benchmarks' apps
// end their answer with " vN".
func (s *Server) WaitRelease(ctx context.Context, app string, limit time.Duration, done func(v int) bool) (int, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	last := "no answer"
	for time.Now().Before(deadline) && ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.HTTPAddr+"/", nil)
		if err != nil {
			return 0, fmt.Errorf("asking %s: %w", app, err)
		}
		req.Host = app + ".localhost"
		if resp, err := client.Do(req); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if v, ok := releaseOf(string(b)); resp.StatusCode == http.StatusOK && ok && done(v) {
				return v, nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
		} else {
			last = err.Error()
		}
		time.Sleep(pollEvery)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("waiting for %s: %w", app, err)
	}
	return 0, fmt.Errorf("%s never served the release awaited within %v (last: %s)", app, limit, last)
}

// releaseOf is the release number at the end of an app's answer, "... vN".
func releaseOf(body string) (int, bool) {
	i := strings.LastIndex(body, " v")
	if i < 0 {
		return 0, false
	}
	var v int
	_, err := fmt.Sscanf(body[i:], " v%d", &v)
	return v, err == nil
}
