package addons

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"

	"paas"
)

// maxLine bounds a service's log line; the rest of a longer line is cut.
const maxLine = 8 << 10

// Logs returns the service's last n output lines, oldest first.
func (d *Docker) Logs(ctx context.Context, name string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	rc, err := d.api.ContainerLogs(ctx, containerName(name), container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if cerrdefs.IsNotFound(err) {
		return nil, paas.Errorf("no add-on %s", name)
	}
	if err != nil {
		return nil, engineError("reading the log of add-on "+name, err)
	}
	defer rc.Close()
	var lines []string
	w := &lineWriter{deliver: func(ls [][]byte) {
		for _, l := range ls {
			lines = append(lines, string(l))
		}
	}}
	var mu sync.Mutex
	if _, err := stdcopy.StdCopy(lockedWriter{&mu, w}, lockedWriter{&mu, w}, rc); err != nil {
		return nil, fmt.Errorf("reading the log of add-on %s: %w", name, err)
	}
	w.flush()
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// lineWriter cuts what is written to it into lines, without their line
// ends, and delivers those of each write together.
type lineWriter struct {
	deliver func([][]byte)
	part    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	var lines [][]byte
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.part = append(w.part, p[:min(len(p), max(0, maxLine-len(w.part)))]...)
			break
		}
		line := append(w.part, p[:min(i, max(0, maxLine-len(w.part)))]...)
		lines = append(lines, bytes.TrimRight(line, "\r"))
		w.part = nil
		p = p[i+1:]
	}
	if len(lines) > 0 {
		w.deliver(lines)
	}
	return n, nil
}

// flush delivers an unfinished last line.
func (w *lineWriter) flush() {
	if len(w.part) > 0 {
		w.deliver([][]byte{w.part})
		w.part = nil
	}
}

// follower is the state of Follow: the containers whose output is
// followed, by ID.
type follower struct {
	mu        sync.Mutex
	following map[string]*followed
}

// followed is one container followed.
type followed struct {
	name string
	// again is set when the container started anew while its output was
	// followed: the follow goes on from againSince once its stream ends.
	again      bool
	againSince time.Time
}

// Follow delivers every output line of every service container of this
// paasd to DockerConfig.Lines, from now on, until ctx ends: the containers
// running now and each that starts later (a new service, a restart), as
// the engine's events say. Reading the engine's logs never blocks the
// service.
func (d *Docker) Follow(ctx context.Context) {
	if d.cfg.Lines == nil {
		return
	}
	backoff := followRetryMin
	// away is set once the engine was found gone, so that it is said
	// once, not at every try, and its return is said once too.
	away := false
	for ctx.Err() == nil {
		since := time.Now()
		f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("event", "start"), filters.Arg("label", LabelAddon))
		if d.cfg.Owner != "" {
			f.Add("label", labelOwner+"="+d.cfg.Owner)
		}
		msgs, errs := d.api.Events(ctx, events.ListOptions{Filters: f})
		// Those running before the events were listened to.
		list := filters.NewArgs(filters.Arg("label", LabelAddon))
		if d.cfg.Owner != "" {
			list.Add("label", labelOwner+"="+d.cfg.Owner)
		}
		cs, err := d.api.ContainerList(ctx, container.ListOptions{Filters: list})
		switch {
		case err != nil && ctx.Err() == nil && !away:
			d.log.Warn("the engine does not answer: the add-ons' output is followed again once it does", "err", err)
			away = true
		case err == nil:
			if away {
				d.log.Info("following the add-ons' output again")
				away = false
			}
			backoff = followRetryMin
			for _, c := range cs {
				d.startFollowing(ctx, c.ID, c.Labels[LabelAddon], since)
			}
		}
	events:
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-msgs:
				at := time.Unix(0, m.TimeNano)
				if m.TimeNano == 0 {
					at = time.Unix(m.Time, 0)
				}
				d.startFollowing(ctx, m.Actor.ID, m.Actor.Attributes[LabelAddon], at)
			case err := <-errs:
				if ctx.Err() == nil && !away {
					d.log.Warn("the add-ons' event stream ended: the add-ons' output is followed again once the engine answers", "err", err)
					away = true
				}
				break events
			}
		}
		// The engine went away: listen again after a pause.
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, followRetryMax)
	}
}

// Follow's pause between tries while the engine is away, doubling from
// followRetryMin to followRetryMax.
const (
	followRetryMin = time.Second
	followRetryMax = 30 * time.Second
)

// startFollowing follows container id's output from since, unless it is
// followed already; then the follow goes on from since once the current
// stream ends (the container restarted).
func (d *Docker) startFollowing(ctx context.Context, id, name string, since time.Time) {
	if name == "" {
		return
	}
	fl := &d.follow
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.following == nil {
		fl.following = make(map[string]*followed)
	}
	if f, ok := fl.following[id]; ok {
		f.again, f.againSince = true, since
		return
	}
	f := &followed{name: name}
	fl.following[id] = f
	go d.followContainer(ctx, id, f, since)
}

// followContainer delivers container id's output from since until the
// container stops (and again from each restart noted meanwhile).
func (d *Docker) followContainer(ctx context.Context, id string, f *followed, since time.Time) {
	fl := &d.follow
	for {
		d.followStream(ctx, id, f.name, since)
		fl.mu.Lock()
		if f.again && ctx.Err() == nil {
			since, f.again = f.againSince, false
			fl.mu.Unlock()
			continue
		}
		delete(fl.following, id)
		fl.mu.Unlock()
		return
	}
}

// followStream delivers container id's output from since while the
// engine streams it: until the container stops.
func (d *Docker) followStream(ctx context.Context, id, name string, since time.Time) {
	rc, err := d.api.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: true,
		Since: fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
	})
	if err != nil {
		if ctx.Err() == nil && !cerrdefs.IsNotFound(err) {
			d.log.Warn("following an add-on's output", "addon", name, "err", err)
		}
		return
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	// Stdout and stderr are one stream of lines; stdcopy writes one
	// frame at a time.
	w := &lineWriter{deliver: func(lines [][]byte) { d.cfg.Lines(name, lines) }}
	_, _ = stdcopy.StdCopy(w, w, rc)
	w.flush()
}

var _ io.Writer = (*lineWriter)(nil)
