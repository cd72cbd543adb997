package logs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultRetention = 10 << 20 // bytes of history per app on disk
	DefaultTailLines = 4096     // lines per app kept in memory
	syncInterval     = 500 * time.Millisecond
)

// Config configures an Aggregator.
type Config struct {
	// Dir holds each app's history in Dir/APP/; empty keeps the history
	// in memory only (TailLines lines per app).
	Dir string
	// Retention is the size of each app's history on disk in bytes;
	// 0 means DefaultRetention.
	Retention int64
	// TailLines is how many recent lines per app stay in memory to answer
	// reads of recent lines without the disk; 0 means DefaultTailLines.
	TailLines int
	Logger    *slog.Logger
}

// Aggregator keeps the stream of every app: a small tail of recent lines
// in memory, the history on disk, live readers and subscribers. Writes
// never wait for readers: a reader keeps its own place in the stream and
// reads from memory or, when it has fallen behind, from disk. It is safe
// for concurrent use.
type Aggregator struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	apps   map[string]*appLog
	closed bool // Close was called: no more disk writes

	subMu sync.Mutex // serialises Subscribe and cancel
	subs  atomic.Pointer[subscribers]

	stop chan struct{}
	done chan struct{}

	written atomic.Uint64 // lines added to every app's stream
}

// appLog is the stream of one app.
type appLog struct {
	mu      sync.Mutex
	seq     uint64
	last    time.Time // time of the newest line: times never go back
	history *ring
	disk    *diskLog // nil when the history is in memory only
	// wake is closed when lines are added, for readers that have read
	// everything; nil when no reader waits.
	wake    chan struct{}
	readers int  // live readers (cursors)
	removed bool // set by Remove: writers must look the app up again
}

// add gives line the next sequence number and adds it to the tail, the
// history on disk and the subscribers. l is locked.
func (a *Aggregator) add(l *appLog, line Line) {
	l.seq++
	line.Seq = l.seq
	a.written.Add(1)
	l.history.add(line)
	if l.disk != nil {
		if err := l.disk.append(&line); err != nil {
			a.diskFailed(line.App, l.disk, err)
		}
	}
	a.publish(line)
}

// now returns the receive time of lines added now: never before the
// newest line's. l is locked.
func (l *appLog) now() time.Time {
	t := time.Now().UTC()
	if t.Before(l.last) {
		t = l.last
	}
	l.last = t
	return t
}

// wakeReaders tells waiting readers that lines were added. l is locked.
func (l *appLog) wakeReaders() {
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
}

// New returns an Aggregator that keeps the last perApp lines of each app
// (at least 1) in memory and nothing on disk.
func New(perApp int) *Aggregator {
	a, _ := Open(Config{TailLines: max(perApp, 1)})
	return a
}

// Open returns an Aggregator keeping each app's history under cfg.Dir and
// starts its background flusher, which writes buffered lines and syncs
// them to disk at least once a second. Close stops it.
func Open(cfg Config) (*Aggregator, error) {
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.TailLines <= 0 {
		cfg.TailLines = DefaultTailLines
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Aggregator{
		cfg:  cfg,
		log:  cfg.Logger,
		apps: make(map[string]*appLog),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	a.subs.Store(&subscribers{})
	if cfg.Dir == "" {
		close(a.done)
		return a, nil
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	go a.flusher()
	return a, nil
}

// onDisk reports whether app's history may live on disk: a plain
// directory name.
func onDisk(app string) bool {
	return app != "" && app != "." && app != ".." && !strings.ContainsAny(app, `/\`) && !strings.HasPrefix(app, ".")
}

// get returns the app's log, creating it (and reading its history's state
// from disk) when create is set or the app has a history on disk; nil
// otherwise.
func (a *Aggregator) get(app string, create bool) *appLog {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.apps[app]
	if l != nil {
		return l
	}
	useDisk := a.cfg.Dir != "" && !a.closed && onDisk(app)
	dir := ""
	if useDisk {
		dir = filepath.Join(a.cfg.Dir, app)
		if !create {
			if _, err := os.Stat(dir); err != nil {
				return nil
			}
		}
	} else if !create {
		return nil
	}
	l = &appLog{history: newRing(a.cfg.TailLines)}
	if useDisk {
		d, last, err := openDiskLog(dir, a.cfg.Retention)
		if err != nil {
			a.log.Error("opening log history; keeping this app's lines in memory", "app", app, "err", err)
		} else {
			l.disk, l.seq = d, last
			for _, n := range d.notes {
				a.log.Warn("log history repaired", "app", app, "note", n)
			}
		}
	}
	a.apps[app] = l
	return l
}

// lock returns the app's log locked, created if needed, and never one that
// Remove has already retired.
func (a *Aggregator) lock(app string) *appLog {
	for {
		l := a.get(app, true)
		l.mu.Lock()
		if !l.removed {
			return l
		}
		l.mu.Unlock()
	}
}

// all returns every app's log.
func (a *Aggregator) all() []*appLog {
	a.mu.Lock()
	defer a.mu.Unlock()
	list := make([]*appLog, 0, len(a.apps))
	for _, l := range a.apps {
		list = append(list, l)
	}
	return list
}

// quiesce takes and releases every app's lock once.
func (a *Aggregator) quiesce() {
	for _, l := range a.all() {
		l.mu.Lock()
		//lint:ignore SA2001 the empty section waits for callbacks in flight
		l.mu.Unlock()
	}
}

// Write adds text to the app's stream as lines from source and proc. Text
// is split on newlines (one trailing newline ends the last line), carriage
// returns are dropped, other control characters except tab are escaped
// (\x1b), invalid UTF-8 becomes U+FFFD and a line longer than
// MaxTextBytes is split into several. Empty text is one empty line.
func (a *Aggregator) Write(app, source, proc, text string) {
	a.WriteRelease(app, source, proc, 0, text)
}

// WriteRelease is Write for lines that belong to a release: an instance's
// output or a platform event about one.
func (a *Aggregator) WriteRelease(app, source, proc string, release int, text string) {
	texts := splitLines(text)
	l := a.lock(app)
	defer l.mu.Unlock()
	t := l.now()
	for _, s := range texts {
		a.add(l, Line{Time: t, App: app, Source: source, Proc: proc, Release: release, Text: s})
	}
	l.wakeReaders()
}

// Written returns how many lines were added to the apps' streams since
// the Aggregator was opened.
func (a *Aggregator) Written() uint64 { return a.written.Load() }

// diskFailed logs a write error once per run of failures.
func (a *Aggregator) diskFailed(app string, d *diskLog, err error) {
	if d.failed == nil {
		a.log.Error("writing log history", "app", app, "err", err)
	}
	d.failed = err
}

// Lines adds lines an instance wrote to stdout or stderr, in order, as
// Write does. It makes an Aggregator a runtime.LineSink.
func (a *Aggregator) Lines(app, instance string, release int, lines [][]byte) {
	// One string holds the batch: one allocation, not one per line.
	n := 0
	for _, b := range lines {
		n += len(b)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, b := range lines {
		sb.Write(b)
	}
	all := sb.String()
	l := a.lock(app)
	defer l.mu.Unlock()
	t := l.now()
	off := 0
	for _, b := range lines {
		text := all[off : off+len(b)]
		off += len(b)
		if clean(text) {
			a.add(l, Line{Time: t, App: app, Source: SourceApp, Proc: instance, Release: release, Text: text})
			continue
		}
		for _, s := range splitLines(text) {
			a.add(l, Line{Time: t, App: app, Source: SourceApp, Proc: instance, Release: release, Text: s})
		}
	}
	l.wakeReaders()
}

// Announce writes a platform line from proc to every app that has a
// stream, in memory or on disk: "paasd started".
func (a *Aggregator) Announce(proc, text string) {
	names := map[string]bool{}
	a.mu.Lock()
	for app := range a.apps {
		names[app] = true
	}
	dir, closed := a.cfg.Dir, a.closed
	a.mu.Unlock()
	if dir != "" && !closed {
		entries, err := os.ReadDir(dir)
		if err != nil {
			a.log.Error("listing log histories", "err", err)
		}
		for _, e := range entries {
			if e.IsDir() && onDisk(e.Name()) {
				names[e.Name()] = true
			}
		}
	}
	for app := range names {
		a.Write(app, SourcePaas, proc, text)
	}
}

// Remove forgets the app's history, on disk too, and ends its readers. A later Write starts a new stream at sequence
// number 1.
func (a *Aggregator) Remove(app string) {
	a.mu.Lock()
	l := a.apps[app]
	delete(a.apps, app)
	dir := ""
	if a.cfg.Dir != "" && onDisk(app) {
		dir = filepath.Join(a.cfg.Dir, app)
	}
	a.mu.Unlock()
	if l != nil {
		l.mu.Lock()
		l.removed = true
		l.wakeReaders()
		if l.disk != nil {
			if err := l.disk.remove(); err != nil {
				a.log.Error("removing log history", "app", app, "err", err)
			}
			l.disk = nil
		}
		l.mu.Unlock()
	}
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			a.log.Error("removing log history", "app", app, "err", err)
		}
	}
}

// flusher writes and syncs every app's buffered lines each syncInterval
// until Close.
func (a *Aggregator) flusher() {
	defer close(a.done)
	t := time.NewTicker(syncInterval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.Sync()
		}
	}
}

// Sync writes every app's buffered lines to its files and syncs them.
func (a *Aggregator) Sync() {
	for _, l := range a.all() {
		l.mu.Lock()
		var f *os.File
		var retired []*os.File
		var err error
		if l.disk != nil {
			f, retired, err = l.disk.syncTargets()
		}
		l.mu.Unlock()
		if err != nil {
			a.log.Error("writing log history", "err", err)
		}
		for _, r := range retired {
			if err := r.Sync(); err != nil {
				a.log.Error("syncing log history", "err", err)
			}
			r.Close()
		}
		if f != nil {
			if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
				a.log.Error("syncing log history", "err", err)
			}
		}
	}
}

// Close stops the flusher and writes, syncs and closes every history.
// Lines written afterwards stay in memory only: a paasd handing over to
// its successor calls it when it releases the data directory.
func (a *Aggregator) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	if a.cfg.Dir != "" {
		close(a.stop)
	}
	<-a.done
	var errs []error
	for _, l := range a.all() {
		l.mu.Lock()
		if l.disk != nil {
			errs = append(errs, l.disk.close())
			l.disk = nil
		}
		l.mu.Unlock()
	}
	return errors.Join(errs...)
}
