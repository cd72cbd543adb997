package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"paas"
	"paas/logs"
)

// healthClient makes health-check requests straight to an instance; it
// keeps no connections between checks.
var healthClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// healthcheck runs the app.json checks against a web instance: each check
// is a GET of its path that must answer 2xx or 3xx within its timeout,
// with the check's content in the body when it names some, tried up to
// its attempts with its wait between tries.
func (s *Service) healthcheck(ctx context.Context, st *appState, in *instance, checks []paas.Healthcheck, out io.Writer) error {
	for _, c := range checks {
		if c.Type != "" && c.Type != "startup" {
			continue
		}
		attempts, timeout, wait := c.Attempts, time.Duration(c.Timeout)*time.Second, time.Duration(c.Wait)*time.Second
		if attempts <= 0 {
			attempts = 3
		}
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		if wait <= 0 {
			wait = time.Second
		}
		path := c.Path
		if path == "" {
			path = "/"
		}
		name := c.Name
		if name == "" {
			name = "GET " + path
		}
		if err := sleepCtx(ctx, time.Duration(c.InitialDelay)*time.Second); err != nil {
			return err
		}
		var last error
		for i := 1; i <= attempts; i++ {
			last = checkOnce(ctx, in.inst.Addr, path, c.Content, timeout)
			if last == nil {
				if out != nil {
					fmt.Fprintf(out, "       %s: health check %q passed\n", in.name(), name)
				}
				break
			}
			if st.crashed(in) {
				return paas.Errorf("%s exited during its health check %q", in.name(), name)
			}
			if out != nil {
				fmt.Fprintf(out, "       %s: health check %q attempt %d/%d: %v\n", in.name(), name, i, attempts, last)
			}
			if i < attempts {
				if err := sleepCtx(ctx, wait); err != nil {
					return err
				}
			}
		}
		if last != nil {
			return paas.Errorf("%s failed its health check %q: %v", in.name(), name, last)
		}
	}
	return nil
}

// maxHealthBody is how much of an answer's body a content check reads.
const maxHealthBody = 1 << 20

func checkOnce(ctx context.Context, addr, path, content string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "paas-healthcheck")
	resp, err := healthClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", timeout)
		}
		return errors.New("connection failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if content == "" {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no whole answer within %s", timeout)
		}
		return errors.New("connection failed while reading the answer")
	}
	if !strings.Contains(string(body), content) {
		return fmt.Errorf("status %d, but the body does not contain %q", resp.StatusCode, content)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// recentLines is how many of a failing instance's last log lines a failed
// deploy shows.
const recentLines = 10

// withRecentLines adds the instance's last log lines to a start failure,
// so that the pusher sees why it failed.
func (s *Service) withRecentLines(st *appState, in *instance, err error) error {
	msg, ok := paas.UserMessage(err)
	if !ok {
		return err
	}
	st.mu.Lock()
	started := in.inst.Started
	st.mu.Unlock()
	var lines []string
	// An instance of the same name of another release (the one still
	// serving) writes meanwhile: only this release's lines since this
	// instance started are its own.
	f := logs.Filter{Proc: in.name(), Source: logs.SourceApp, Release: in.spec.Release}
	for _, l := range s.cfg.Logs.Tail(st.name, recentLines, f) {
		if !l.Time.Before(started.Add(-time.Second)) {
			lines = append(lines, "  "+l.String())
		}
	}
	if len(lines) == 0 {
		return err
	}
	return &paas.Error{Msg: msg + "\nlast lines of " + in.name() + ":\n" + strings.Join(lines, "\n"), Err: err}
}
