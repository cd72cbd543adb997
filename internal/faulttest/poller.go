// Package faulttest helps fault tests check that every app keeps being
// served by its own instances while a fault lasts: a poller per app sends
// requests through the router, one after another, and records which
// were answered by the app, which failed and which were answered by
// another app.
package faulttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Answer is what an app that answers its own name (e2e/testdata/apps/marker)
// says to every request.
func Answer(app string) string { return "marker:" + app + "\n" }

// Config is what a Poller polls.
type Config struct {
	// URL is the router's address, such as "http://127.0.0.1:8080/".
	URL string
	// App is the app polled; its requests carry Host App+"."+Domain.
	App, Domain string
	// Interval is the pause between requests; 20ms when zero.
	Interval time.Duration
	// Timeout bounds each request; 5s when zero.
	Timeout time.Duration
}

// Outcome is how one request ended.
type Outcome int

// The outcomes of a request.
const (
	// OK: answered by the app.
	OK Outcome = iota
	// Failed: an error, or a status other than 200.
	Failed
	// Wrong: a 200 whose body is not the app's answer.
	Wrong
)

// sample is one request's outcome and when it ended.
type sample struct {
	at      time.Time
	outcome Outcome
}

// Poller polls one app until Stop.
type Poller struct {
	cfg    Config
	client *http.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	samples []sample
	wrong   []string // the first wrong answers, for messages
}

// Start starts polling cfg.App.
func Start(ctx context.Context, cfg Config) *Poller {
	if cfg.Interval == 0 {
		cfg.Interval = 20 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Poller{
		cfg: cfg,
		// A new connection per request: a kept-alive one could hide
		// what the router does with a new request.
		client: &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{DisableKeepAlives: true}},
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go p.loop(ctx)
	return p
}

func (p *Poller) loop(ctx context.Context) {
	defer close(p.done)
	for ctx.Err() == nil {
		outcome, body := p.once(ctx)
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		p.samples = append(p.samples, sample{time.Now(), outcome})
		if outcome == Wrong && len(p.wrong) < 5 {
			p.wrong = append(p.wrong, body)
		}
		p.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(p.cfg.Interval):
		}
	}
}

// once sends one request.
func (p *Poller) once(ctx context.Context) (Outcome, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.URL, nil)
	if err != nil {
		return Failed, err.Error()
	}
	req.Host = p.cfg.App + "." + p.cfg.Domain
	resp, err := p.client.Do(req)
	if err != nil {
		return Failed, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case err != nil || resp.StatusCode != http.StatusOK:
		return Failed, fmt.Sprintf("%d %s", resp.StatusCode, b)
	case string(b) != Answer(p.cfg.App):
		return Wrong, strings.TrimSpace(string(b))
	}
	return OK, ""
}

// Stop ends polling and returns the counts.
func (p *Poller) Stop() Counts {
	p.cancel()
	<-p.done
	return p.Counts()
}

// Counts are a poller's tallies.
type Counts struct {
	Requests, OK, Failed, Wrong int
	// WrongAnswers are the first few wrong answers.
	WrongAnswers []string
}

// Counts returns the tallies so far.
func (p *Poller) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := Counts{Requests: len(p.samples), WrongAnswers: append([]string(nil), p.wrong...)}
	for _, s := range p.samples {
		switch s.outcome {
		case OK:
			c.OK++
		case Failed:
			c.Failed++
		case Wrong:
			c.Wrong++
		}
	}
	return c
}

// AnsweredSince returns when, after since, the app began answering n
// requests in a row, and whether it has.
func (p *Poller) AnsweredSince(since time.Time, n int) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	run := 0
	var start time.Time
	for _, s := range p.samples {
		if s.at.Before(since) {
			continue
		}
		if s.outcome != OK {
			run = 0
			continue
		}
		if run == 0 {
			start = s.at
		}
		if run++; run >= n {
			return start, true
		}
	}
	return time.Time{}, false
}

// WaitAnswered waits until the app has answered n requests in a row
// after since, and returns when that run began, or an error when limit
// passes first.
func (p *Poller) WaitAnswered(ctx context.Context, since time.Time, n int, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		if at, ok := p.AnsweredSince(since, n); ok {
			return at, nil
		}
		if time.Now().After(deadline) {
			c := p.Counts()
			return time.Time{}, fmt.Errorf("%s did not answer %d requests in a row within %s (%d requests, %d failed, %d wrong)",
				p.cfg.App, n, limit, c.Requests, c.Failed, c.Wrong)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(p.cfg.Interval):
		}
	}
}
