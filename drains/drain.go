package drains

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"paas/logs"
)

// Drain states shown by `drains APP`.
const (
	StateConnecting = "connecting" // nothing delivered yet
	StateUp         = "up"         // the last delivery succeeded
	StateFailing    = "failing"    // the last delivery failed; retrying with backoff
)

// sender delivers batches to one drain. A batch whose send fails is sent
// again later, whole. send and close are called from one goroutine.
type sender interface {
	send(ctx context.Context, batch []logs.Line) error
	close()
}

// drain is one running drain: its buffer, fed by the subscription, and
// the goroutine that empties it into the sender.
type drain struct {
	app    string
	rec    Record
	target Target
	buf    *buffer
	snd    sender
	cfg    *Config
	log    *slog.Logger

	cancel context.CancelFunc
	finish chan struct{} // closed to deliver what is buffered, then stop
	done   chan struct{} // closed when run returns

	mu        sync.Mutex
	state     string
	inflight  int
	sent      uint64
	rejected  uint64 // lines of batches the server refused for good
	lastErr   string
	lastErrAt time.Time
}

func newDrain(rec Record, t Target, cfg *Config, log *slog.Logger) *drain {
	d := &drain{
		app:    rec.App,
		rec:    rec,
		target: t,
		buf:    newBuffer(cfg.BufferLines, cfg.BufferBytes),
		cfg:    cfg,
		log:    log.With("app", rec.App, "drain", t.Masked()),
		finish: make(chan struct{}),
		done:   make(chan struct{}),
		state:  StateConnecting,
	}
	if t.Scheme == SchemeHTTPS {
		d.snd = newHTTPSSender(t, rec.Token, cfg)
	} else {
		d.snd = newSyslogSender(t, rec.Token, cfg)
	}
	return d
}

// start runs the sender goroutine until stop.
func (d *drain) start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go d.run(ctx)
}

// stop lets the drain deliver what it holds for up to grace, then ends
// it and waits for its goroutine.
func (d *drain) stop(grace time.Duration) {
	close(d.finish)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-d.done:
	case <-t.C:
	}
	d.cancel()
	<-d.done
}

func (d *drain) batchLimits() (lines, bytes int, linger time.Duration) {
	if d.target.Scheme == SchemeHTTPS {
		return d.cfg.BatchLines, d.cfg.BatchBytes, d.cfg.BatchWait
	}
	return d.cfg.BatchLines, d.cfg.BatchBytes, 0
}

func (d *drain) run(ctx context.Context) {
	defer close(d.done)
	defer d.snd.close()
	maxLines, maxBytes, linger := d.batchLimits()
	var batch []logs.Line
	lines := 0 // in batch, the drop marker not counted
	var delay time.Duration
	for {
		if len(batch) == 0 {
			if !d.wait(ctx, maxLines, linger) {
				return
			}
			var lost uint64
			batch, lost = d.buf.take(batch[:0], maxLines, maxBytes)
			lines = len(batch)
			if lost > 0 {
				batch = append([]logs.Line{dropLine(d.app, lost)}, batch...)
			}
			d.setInflight(lines)
			if len(batch) == 0 {
				continue
			}
		}
		err := d.snd.send(ctx, batch)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			d.delivered(lines)
			batch, delay = batch[:0], 0
			continue
		}
		var perm permanentError
		if errors.As(err, &perm) {
			d.refused(lines)
			batch = batch[:0]
		}
		delay = min(max(2*delay, d.cfg.MinBackoff), d.cfg.MaxBackoff)
		d.failed(err, delay)
		if !d.sleep(ctx, delay) {
			return
		}
	}
}

// wait returns once lines are buffered (for a lingering sender, once
// maxLines are or linger has passed since the first), false when the
// drain is to stop: at once when cancelled, when finishing only once the
// buffer is empty.
func (d *drain) wait(ctx context.Context, maxLines int, linger time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-d.buf.ready:
	case <-d.finish:
		return d.buf.len() > 0
	}
	if linger <= 0 {
		return true
	}
	t := time.NewTimer(linger)
	defer t.Stop()
	for d.buf.len() < maxLines {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-d.finish:
			return true
		case <-d.buf.ready:
		}
	}
	return true
}

// sleep waits out a retry delay; false when the drain is to stop.
func (d *drain) sleep(ctx context.Context, delay time.Duration) bool {
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-d.finish:
		return false
	case <-t.C:
		return true
	}
}

func (d *drain) setInflight(n int) {
	d.mu.Lock()
	d.inflight = n
	d.mu.Unlock()
}

func (d *drain) delivered(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != StateUp {
		d.log.Info("log drain delivering")
	}
	d.state = StateUp
	d.sent += uint64(n)
	d.inflight = 0
}

func (d *drain) refused(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rejected += uint64(n)
	d.inflight = 0
	if d.cfg.Dropped != nil {
		d.cfg.Dropped(uint64(n))
	}
}

func (d *drain) failed(err error, retry time.Duration) {
	msg := d.target.Scrub(err.Error())
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != StateFailing || msg != d.lastErr {
		d.log.Warn("log drain failing", "err", msg, "retry_in", retry)
	}
	d.state = StateFailing
	d.lastErr = msg
	d.lastErrAt = time.Now().UTC()
}

// status reports the drain for `drains APP`.
func (d *drain) status() Status {
	held, dropped := d.buf.stats()
	d.mu.Lock()
	defer d.mu.Unlock()
	return Status{
		App:         d.app,
		URL:         d.target.Masked(),
		Token:       d.rec.Token,
		Added:       d.rec.Added,
		State:       d.state,
		Buffered:    held + d.inflight,
		Dropped:     dropped + d.rejected,
		Sent:        d.sent,
		LastError:   d.lastErr,
		LastErrorAt: d.lastErrAt,
	}
}

// dropLine is the synthetic line that tells a drain's receiver how many
// lines its buffer lost.
func dropLine(app string, n uint64) logs.Line {
	return logs.Line{
		Time:   time.Now().UTC(),
		App:    app,
		Source: logs.SourcePaas,
		Proc:   "logs",
		Text:   fmt.Sprintf("%d lines dropped for this drain (its buffer was full)", n),
	}
}
