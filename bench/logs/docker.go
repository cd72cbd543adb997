package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// stackImage is the image the engine baseline's writers run in: the one
// paas builds docker apps on.
const stackImage = "paas/stack:bookworm"

// benchLabel marks the baseline's containers, so that leftovers are easy
// to find: docker ps -a --filter label=paas.bench.
const benchLabel = "paas.bench"

// engineResult is the engine's own rate for one row.
type engineResult struct {
	rate     float64 // lines/s, first line received to last
	received int
	skew     time.Duration // spread of the writers' first timestamps
	cpu      float64       // dockerd CPU time / writing time
}

// engineBaseline runs n writers, each in a plain container of the stack
// image with the engine's json-file log driver, each writing its share of
// total lines from startAt on. It attaches to every container's output
// stream before starting it and reads the streams directly, counting
// lines, and returns the aggregate rate from the first line received to
// the last, as paasd's ingest rate is measured.
func engineBaseline(ctx context.Context, cli *client.Client, tag string, n, total int, startAt time.Time) (engineResult, error) {
	var res engineResult
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	share := total / n
	var ids []string
	defer func() {
		for _, id := range ids {
			_ = cli.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true})
		}
	}()
	counters := make([]*lineCounter, n)
	var streams sync.WaitGroup
	for i := range n {
		c, err := cli.ContainerCreate(ctx, &container.Config{
			Image: stackImage,
			Cmd:   []string{"python3", "-c", writerApp},
			Env: []string{"LINES=" + strconv.Itoa(share), "TAG=" + tag, fmt.Sprintf("DYNO=eng.%d", i+1),
				"START_AT=" + strconv.FormatInt(startAt.UnixNano(), 10)},
			Labels:       map[string]string{benchLabel: "true"},
			AttachStdout: true,
			AttachStderr: true,
		}, &container.HostConfig{LogConfig: container.LogConfig{Type: "json-file"}}, nil, nil, "")
		if err != nil {
			return res, fmt.Errorf("creating writer container: %w", err)
		}
		ids = append(ids, c.ID)
		hj, err := cli.ContainerAttach(ctx, c.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
		if err != nil {
			return res, fmt.Errorf("attaching to writer container: %w", err)
		}
		defer hj.Close()
		lc := &lineCounter{want: share}
		counters[i] = lc
		streams.Go(func() {
			_, err := stdcopy.StdCopy(lc, lc, hj.Reader)
			if err != nil && !errors.Is(err, errEnough) {
				lc.err = fmt.Errorf("reading writer output: %v", err)
			}
		})
	}
	starts := make(chan error, n)
	for _, id := range ids {
		go func() { starts <- cli.ContainerStart(ctx, id, container.StartOptions{}) }()
	}
	for range ids {
		if err := <-starts; err != nil {
			return res, fmt.Errorf("starting writer container: %w", err)
		}
	}
	if late := time.Since(startAt); late > 0 {
		return res, &lateError{late}
	}
	dockerd := pidOf("dockerd")
	time.Sleep(time.Until(startAt))
	before := procUsage(dockerd)
	done := make(chan struct{})
	go func() { streams.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for _, id := range ids {
			_ = cli.ContainerKill(context.Background(), id, "KILL")
		}
		<-done
	}
	after := procUsage(dockerd)
	var first, last time.Time
	var firstTS, lastTS int64
	for _, lc := range counters {
		if lc.err != nil {
			return res, lc.err
		}
		res.received += lc.lines
		if first.IsZero() || lc.first.Before(first) {
			first = lc.first
		}
		if lc.last.After(last) {
			last = lc.last
		}
		if firstTS == 0 || lc.firstTS < firstTS {
			firstTS = lc.firstTS
		}
		lastTS = max(lastTS, lc.firstTS)
	}
	if d := last.Sub(first); d > 0 {
		res.rate = float64(res.received) / d.Seconds()
		res.cpu = float64(after.cpu-before.cpu) / float64(d)
	}
	res.skew = time.Duration(lastTS - firstTS)
	return res, nil
}

// errEnough ends reading a writer's stream once all its lines arrived.
var errEnough = errors.New("all lines received")

// lineCounter counts the lines of one writer's output stream as they
// arrive, until want lines did, and keeps the writer's timestamp of the
// first line.
type lineCounter struct {
	want, lines int
	first, last time.Time
	head        []byte // the first line, until it is complete
	firstTS     int64
	err         error
}

func (c *lineCounter) Write(p []byte) (int, error) {
	now := time.Now()
	if c.firstTS == 0 {
		c.head = append(c.head, p...)
		if i := bytes.IndexByte(c.head, '\n'); i >= 0 {
			// NAME(12) SEQ(10) TS(19) PAD: fixed offsets.
			if i < 43 {
				return 0, fmt.Errorf("unexpected first line %q", c.head[:i])
			}
			c.firstTS = int64(atoiBytes(c.head[24:43]))
			c.head = nil
		}
	}
	k := bytes.Count(p, []byte{'\n'})
	if k == 0 {
		return len(p), nil
	}
	if c.lines == 0 {
		c.first = now
	}
	c.lines = min(c.want, c.lines+k)
	c.last = now
	if c.lines == c.want {
		return len(p), errEnough
	}
	return len(p), nil
}

// newEngineClient returns a client of the engine named by DOCKER_HOST or
// the default socket, or an error when none answers or it lacks the
// stack image.
func newEngineClient(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("no engine: %w", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("no engine answers: %w", err)
	}
	if _, err := cli.ImageInspect(ctx, stackImage); err != nil {
		cli.Close()
		return nil, fmt.Errorf("stack image %s: %w", stackImage, err)
	}
	return cli, nil
}

// waitNoContainers waits until the engine has no container with label
// (KEY=VALUE), running or not, for at most a minute.
func waitNoContainers(ctx context.Context, cli *client.Client, label string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
		if err != nil {
			return fmt.Errorf("waiting for the containers of %s to go: %w", label, err)
		}
		if len(cs) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d containers of %s left: %w", len(cs), label, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
