// Command logs measures paasd's log path: lines per second from app
// instances to a live `logs -t` reader over SSH and to the on-disk
// history, with 1, 4 and 16 writing instances. Each instance (a Python
// worker) writes its share of 100-byte numbered, timestamped lines as
// fast as it can. The reader checks every number arrives once and in
// order per instance or is counted in a drop marker, and measures the
// delay from the writer's timestamp to arrival (p50, p99). Afterwards the
// history is read back and counted. paasd's CPU time and memory come from
// /proc. It prints a table and writes it to bench/results/logs.txt (or
// the file -out names).
//
//	go run ./bench/logs [-lines 1500000] [-instances 1,4,16] [-runtimes exec] [-out FILE]
package main

import (
	"os"

	"golang.org/x/sys/unix"

	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/docker/docker/client"

	"paas/bench/internal/paasd"
	"paas/bench/internal/results"
)

// writerApp waits until START_AT (ns since the epoch, when set), then
// prints LINES lines of exactly 100 bytes: a name, a number, the send time
// in ns, padding; then "NAME end" every second.
const writerApp = `import os, sys, time
n = int(os.environ["LINES"])
rate = float(os.environ.get("RATE", "0"))
wait = (int(os.environ.get("START_AT", "0")) - time.time_ns()) / 1e9
if wait > 0:
    time.sleep(wait)
start = time.monotonic()
name = (os.environ["TAG"] + os.environ.get("DYNO", "?")).encode().ljust(12)
pad = b"x" * 55
w = sys.stdout.buffer
i = 0
while i < n:
    ts = b"%019d" % time.time_ns()
    k = min(256, n - i)
    w.write(b"".join([name + b" " + (b"%010d" % j) + b" " + ts + b" " + pad + b"\n" for j in range(i, i + k)]))
    i += k
    if rate > 0:
        w.flush()
        ahead = start + i / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
w.flush()
while True:
    time.sleep(1)
    w.write(name + b" end\n")
    w.flush()
`

func main() {
	lines := flag.Int("lines", 1500000, "lines written per measurement, shared by the instances")
	instances := flag.String("instances", "1,4,16", "writing instance counts")
	paced := flag.Int("paced", 250000, "total lines/s of an extra row of 4 paced writers, the target rate (its p99 is the tail's delay at that rate); 0 for none")
	runtimes := flag.String("runtimes", "exec", "runtimes to measure (exec, docker)")
	results.Main("logs", func(ctx context.Context, w *results.Table) error {
		var counts []int
		for _, s := range strings.Split(*instances, ",") {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return fmt.Errorf("bad -instances %q", *instances)
			}
			counts = append(counts, n)
		}
		return run(ctx, w, *lines, counts, *paced, strings.Split(*runtimes, ","))
	})
}

func run(ctx context.Context, w *results.Table, total int, counts []int, paced int, runtimes []string) error {
	ws, err := paasd.NewWorkspace(ctx, "paas-bench-logs")
	if err != nil {
		return err
	}
	defer ws.Close()
	fmt.Fprintf(w, "%d lines of 100 bytes per row\n\n", total)
	fmt.Fprintf(w, "%-7s %4s %12s %12s %9s %9s %8s %8s %11s %9s %9s %7s %7s %8s\n",
		"runtime", "inst", "ingest l/s", "reader l/s", "received", "dropped", "lost", "on disk", "history l/s", "p50", "p99", "cpu", "rss MB", "skew")
	for _, rt := range runtimes {
		var engine *client.Client
		if rt == "docker" {
			if engine, err = newEngineClient(ctx); err != nil {
				fmt.Fprintf(w, "%-7s skipped: %v\n", rt, err)
				continue
			}
		}
		srv, err := ws.Start(rt, "PAAS_STOP_TIMEOUT=2s", "PAAS_LOG_RETENTION=1g")
		if err != nil {
			if engine != nil {
				engine.Close()
			}
			fmt.Fprintf(w, "%-7s skipped: %v\n", rt, err)
			continue
		}
		err = measure(ctx, srv, engine, w, rt, total, counts, paced)
		if engine != nil {
			engine.Close()
		}
		if stopErr := srv.Stop(); err == nil {
			err = stopErr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", rt, err)
		}
	}
	fmt.Fprintf(w, "\nEvery row's writers wait for one common start time, set after the reader is attached and far enough\n")
	fmt.Fprintf(w, "ahead for all instances to have started, so container start-up is outside every rate below.\n")
	fmt.Fprintf(w, "ingest: lines/s into the aggregator (and its disk history), from paasd's receive timestamps of the\n")
	fmt.Fprintf(w, "  first and the last line\n")
	fmt.Fprintf(w, "engine: the engine's own rate before each docker row, with as many writers: plain containers of the\n")
	fmt.Fprintf(w, "  stack image with the json-file log driver, each attached before it starts and its output stream read\n")
	fmt.Fprintf(w, "  directly (no `docker logs`); ingest is lines/s from the first line read to the last, over all of\n")
	fmt.Fprintf(w, "  them; cpu is dockerd's CPU time over that time. paas's own containers run with the engine's log\n")
	fmt.Fprintf(w, "  driver off (paasd reads them attached and keeps the history)\n")
	fmt.Fprintf(w, "reader: lines/s arriving at an ssh `logs -t` reader; lost = written - received - dropped\n")
	if paced > 0 {
		fmt.Fprintf(w, "*: the writers are paced at %d lines/s in all, with their p50 and p99 delays to the tail\n", paced)
	}
	fmt.Fprintf(w, "history l/s: the whole history read back with `logs -n` over ssh\n")
	fmt.Fprintf(w, "p50/p99: writer timestamp to arrival at the reader; cpu: paasd CPU time / wall time from the common\n")
	fmt.Fprintf(w, "  start to the last line; rss: paasd peak\n")
	fmt.Fprintf(w, "skew: the spread of the instances' first line timestamps (how far from together they started)\n")
	return w.Save()
}

// measure pushes the writer app and runs one row per instance count.
// With an engine client, each unpaced row is preceded by the engine's own
// rate with as many writers.
func measure(ctx context.Context, s *paasd.Server, engine *client.Client, w io.Writer, rt string, total int, counts []int, paced int) error {
	app := fstest.MapFS{
		"Procfile":         {Data: []byte("worker: python3 writer.py\n")},
		"requirements.txt": {},
		"writer.py":        {Data: []byte(writerApp)},
	}
	repo, err := s.NewRepo(ctx, "bench", app)
	if err != nil {
		return err
	}
	if _, err := repo.Push(ctx, 0); err != nil {
		return err
	}
	type row struct{ n, rate int }
	var rows []row
	for _, n := range counts {
		rows = append(rows, row{n, 0})
	}
	if paced > 0 {
		rows = append(rows, row{4, paced})
	}
	// stopAll stops the writers of the row before and waits until the
	// engine removed their containers, so that none of them is stopping
	// while the next measurement runs.
	stopAll := func() error {
		if _, err := s.SSH(ctx, "ps:scale bench worker=0"); err != nil {
			return err
		}
		if engine != nil {
			return waitNoContainers(ctx, engine, "paas.app=bench")
		}
		return nil
	}
	for i, r := range rows {
		n := r.n
		if err := stopAll(); err != nil {
			return err
		}
		if engine != nil && r.rate == 0 {
			e, err := retryLate(func(attempt int, margin time.Duration) (engineResult, error) {
				return engineBaseline(ctx, engine, fmt.Sprintf("e%d%d", i, attempt), n, total, time.Now().Add(margin))
			}, n)
			if err != nil {
				return fmt.Errorf("engine baseline: %w", err)
			}
			fmt.Fprintf(w, "%-7s %4d %12.0f %12s %9d %9s %8d %8s %11s %9s %9s %6.0f%% %7s %8s\n", "engine", n, e.rate, "-",
				e.received, "-", (total/n)*n-e.received, "-", "-", "-", "-", e.cpu*100, "-", e.skew.Round(100*time.Microsecond))
		}
		row, err := retryLate(func(attempt int, margin time.Duration) (result, error) {
			tag := fmt.Sprintf("r%d%d", i, attempt)
			if err := stopAll(); err != nil {
				return result{}, err
			}
			startAt := time.Now().Add(margin)
			if _, err := s.SSH(ctx, fmt.Sprintf("config:set bench TAG=%s LINES=%d RATE=%d START_AT=%d", tag, total/n, r.rate/n, startAt.UnixNano())); err != nil {
				return result{}, err
			}
			return round(ctx, s, tag, n, (total/n)*n, startAt)
		}, n)
		if err != nil {
			return err
		}
		label := rt
		if r.rate > 0 {
			label = rt + "*"
		}
		fmt.Fprintf(w, "%-7s %4d %12.0f %12.0f %9d %9d %8d %8d %11.0f %9s %9s %6.0f%% %7.0f %8s\n", label, n, row.ingest, row.reader,
			row.received, row.dropped, row.lost, row.onDisk, row.history, row.p50.Round(100*time.Microsecond), row.p99.Round(100*time.Microsecond),
			row.cpu*100, float64(row.hwm)/(1<<20), row.skew.Round(100*time.Microsecond))
	}
	_, err = s.SSH(ctx, "ps:scale bench worker=0")
	return err
}

// result is one row.
type result struct {
	ingest, reader    float64
	history           float64
	received, dropped int
	lost, onDisk      int
	p50, p99          time.Duration
	cpu               float64
	hwm               int64
	skew              time.Duration
}

// lateError is returned when the writers' common start time passed by
// late before all of them had started.
type lateError struct{ late time.Duration }

func (e *lateError) Error() string {
	return fmt.Sprintf("instances started %v after the writers' start time", e.late.Round(time.Millisecond))
}

// retryLate runs one measurement of n writers starting a margin from now,
// and again, with a margin half as long again as the start-up took, while
// they started late: at most three times in all. The margin covers
// setting the start time, attaching the reader and starting n instances.
// attempt (0, 1, 2) keeps the tags of the attempts apart.
func retryLate[T any](measure func(attempt int, margin time.Duration) (T, error), n int) (T, error) {
	margin := 2*time.Second + time.Duration(n)*500*time.Millisecond
	for attempt := 0; ; attempt++ {
		res, err := measure(attempt, margin)
		var le *lateError
		if !errors.As(err, &le) || attempt == 2 {
			return res, err
		}
		margin = (margin + le.late) * 3 / 2
	}
}

// round starts n writers with a reader attached and waits until every
// line is accounted for or nothing arrives for 10 s. The writers start
// writing at startAt.
func round(ctx context.Context, s *paasd.Server, tag string, n, total int, startAt time.Time) (result, error) {
	var res result
	cmd := exec.Command("ssh", s.SSHArgs("logs bench -t -n 0 --ps worker")...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := widenPipe(out); err != nil {
		return res, err
	}
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	rd := &reader{tag: tag, next: map[string]int{}, firstTS: map[string]int64{}}
	readDone := make(chan struct{})
	go func() { rd.read(out); close(readDone) }()
	time.Sleep(500 * time.Millisecond) // the reader's session is attached
	if _, err := s.SSH(ctx, fmt.Sprintf("ps:scale bench worker=%d", n)); err != nil {
		return res, err
	}
	if late := time.Since(startAt); late > 0 {
		return res, &lateError{late}
	}
	time.Sleep(time.Until(startAt))
	before := procUsage(s.Pid())
	start := time.Now()
	lastProgress, lastCount := time.Now(), 0
	for {
		time.Sleep(100 * time.Millisecond)
		rd.mu.Lock()
		c := rd.received + rd.dropped
		rd.mu.Unlock()
		if c >= total {
			break
		}
		if c != lastCount {
			lastProgress, lastCount = time.Now(), c
		} else if time.Since(lastProgress) > 10*time.Second {
			break
		}
	}
	after := procUsage(s.Pid())
	cmd.Process.Kill()
	<-readDone
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.err != nil {
		return res, rd.err
	}
	res.received, res.dropped = rd.received, rd.dropped
	res.lost = total - rd.received - rd.dropped
	if d := rd.lastArrival.Sub(rd.firstArrival); d > 0 {
		res.reader = float64(rd.received) / d.Seconds()
	}
	if d := rd.lastRecv.Sub(rd.firstRecv); d > 0 {
		res.ingest = float64(rd.received+rd.dropped) / d.Seconds()
	}
	slices.Sort(rd.delays)
	if len(rd.delays) > 0 {
		res.p50 = rd.delays[len(rd.delays)/2]
		res.p99 = rd.delays[len(rd.delays)*99/100]
	}
	res.cpu = float64(after.cpu-before.cpu) / float64(time.Since(start))
	var firstTS, lastTS int64
	for _, ts := range rd.firstTS {
		if firstTS == 0 || ts < firstTS {
			firstTS = ts
		}
		lastTS = max(lastTS, ts)
	}
	res.skew = time.Duration(lastTS - firstTS)
	res.hwm = after.hwm
	disk, err := countHistory(s, tag)
	if err != nil {
		return res, err
	}
	res.onDisk = disk
	// The history read back over ssh into /dev/null: the SSH path's rate
	// without a reader process in the way.
	hs := time.Now()
	if err := exec.Command("ssh", s.SSHArgs("logs bench --ps worker -n 100000000")...).Run(); err != nil {
		return res, err
	}
	res.history = float64(disk) / time.Since(hs).Seconds()
	return res, nil
}

// countHistory reads the whole history back and counts the tag's lines.
func countHistory(s *paasd.Server, tag string) (int, error) {
	cmd := exec.Command("ssh", s.SSHArgs("logs bench --ps worker -n 100000000")...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(out)
	count := 0
	for sc.Scan() {
		_, text, ok := strings.Cut(sc.Text(), "]: ")
		if f := strings.Fields(text); ok && len(f) == 4 && strings.HasPrefix(f[0], tag+"worker.") {
			count++
		}
	}
	return count, cmd.Wait()
}

// reader checks and times the lines of one round.
type reader struct {
	tag string

	mu                        sync.Mutex
	next                      map[string]int
	firstTS                   map[string]int64 // each instance's first line's timestamp
	received, dropped         int
	firstArrival, lastArrival time.Time
	firstRecv, lastRecv       time.Time
	delays                    []time.Duration
	err                       error
}

func (r *reader) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 256<<10), 1<<20)
	prefix := []byte(r.tag + "worker.")
	sep := []byte("]: ")
	var firstHead, lastHead []byte
	for sc.Scan() {
		now := time.Now()
		line := sc.Bytes()
		i := bytes.Index(line, sep)
		if i < 27 {
			continue
		}
		head, text := line[:i], line[i+3:]
		if bytes.HasSuffix(head, []byte("paas[logs")) {
			var n int
			fmt.Sscanf(string(text), "%d lines dropped for this reader", &n)
			r.mu.Lock()
			r.dropped += n
			r.mu.Unlock()
			continue
		}
		// NAME(12) SEQ(10) TS(19) PAD: fixed offsets.
		if len(text) != 99 || !bytes.HasPrefix(text, prefix) {
			continue
		}
		name := string(bytes.TrimRight(text[:12], " "))
		seq := atoiBytes(text[13:23])
		ts := atoiBytes(text[24:43])
		r.mu.Lock()
		if seq < r.next[name] && r.err == nil {
			r.err = fmt.Errorf("%s: line %d after %d", name, seq, r.next[name]-1)
		}
		r.next[name] = seq + 1
		if _, ok := r.firstTS[name]; !ok {
			r.firstTS[name] = int64(ts)
		}
		r.received++
		if r.firstArrival.IsZero() {
			r.firstArrival = now
			firstHead = append(firstHead[:0], head[:27]...)
			r.firstRecv, _ = time.Parse("2006-01-02T15:04:05.000000Z", string(firstHead))
		}
		r.lastArrival = now
		lastHead = append(lastHead[:0], head[:27]...)
		r.delays = append(r.delays, now.Sub(time.Unix(0, int64(ts))))
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.lastRecv, _ = time.Parse("2006-01-02T15:04:05.000000Z", string(lastHead))
	r.mu.Unlock()
}

// atoiBytes parses decimal digits.
func atoiBytes(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// readerPipe is the size of the pipe between the ssh client and the
// reader. With Linux's default of 64 KiB, OpenSSH's client reads up to
// 256 KiB from the connection per turn of its loop but writes 64 KiB:
// its buffer fills to the channel window, and moving that buffer for
// every write costs it a whole core during a burst, which the window
// passes back to paasd as a stall of up to a second.
const readerPipe = 1 << 20

// widenPipe sets the size of the pipe r reads from to readerPipe.
func widenPipe(r io.Reader) error {
	f, ok := r.(*os.File)
	if !ok {
		return fmt.Errorf("reader pipe is a %T", r)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, readerPipe); err != nil {
		return fmt.Errorf("sizing the reader pipe: %w", err)
	}
	return nil
}
