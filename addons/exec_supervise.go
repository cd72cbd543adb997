package addons

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Bounds of the supervision.
const (
	execRestartFirst = time.Second      // first delay before restarting a crashed service
	execRestartMax   = time.Minute      // longest delay
	execStableAfter  = 30 * time.Second // a run this long resets the delay
	// execMaxLog is the size past which a service's log is truncated;
	// its last execKeepLog bytes move to log.1 first.
	execMaxLog  = 8 << 20
	execKeepLog = 64 << 10
	// execLogRead bounds what Logs and one tail step read.
	execLogRead = 1 << 20
)

// Supervise runs every service (adopting the process an earlier paasd
// started, when it still runs: the same process, told by its pid and
// start time), restarts one that exits with a growing delay, and hands
// every line the services write from now on to cfg.Lines. Services made
// while it runs are supervised too. It returns when ctx ends, without
// stopping the services: they outlive paasd, as containers do.
func (e *Exec) Supervise(ctx context.Context) {
	e.mu.Lock()
	e.sup = ctx
	e.mu.Unlock()
	names, err := e.Names(ctx)
	if err != nil {
		e.log.Error("listing add-on services", "err", err)
	}
	for _, name := range names {
		e.supervise(name)
	}
	<-ctx.Done()
	e.mu.Lock()
	e.sup = nil
	e.mu.Unlock()
	e.watchers.Wait()
}

// supervise watches and tails service name while Supervise runs.
func (e *Exec) supervise(name string) {
	s := e.svc(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	ctx := e.sup
	if ctx == nil || ctx.Err() != nil || s.watched {
		return
	}
	s.watched = true
	e.watchers.Add(2)
	go func() {
		defer e.watchers.Done()
		e.watch(ctx, name, s)
		e.mu.Lock()
		s.watched = false
		e.mu.Unlock()
	}()
	go func() {
		defer e.watchers.Done()
		e.tail(ctx, name, s)
	}()
}

// lockCtx locks s.mu unless ctx ends first.
func lockCtx(ctx context.Context, s *execSvc) bool {
	select {
	case s.mu <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// sleepCtx waits d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// watch keeps service name running until ctx ends or it is destroyed.
func (e *Exec) watch(ctx context.Context, name string, s *execSvc) {
	delay := execRestartFirst
	for {
		if !lockCtx(ctx, s) {
			return
		}
		if s.gone {
			s.mu.Unlock()
			return
		}
		m, err := e.readMeta(name)
		if err != nil {
			// An interrupted Create's remains: not a service to run.
			s.mu.Unlock()
			e.log.Warn("add-on not supervised", "addon", name, "err", err)
			return
		}
		p := e.current(name, s)
		if p == nil {
			p, err = e.startLocked(name, s)
			if err != nil {
				s.state = StateCrashed
				s.mu.Unlock()
				e.log.Error("starting add-on", "addon", name, "err", err, "retry_in", delay)
				if !sleepCtx(ctx, delay) {
					return
				}
				delay = min(2*delay, execRestartMax)
				continue
			}
		}
		starting := s.state == StateStarting
		s.mu.Unlock()
		began := time.Now()
		if starting {
			err := e.waitReady(ctx, name, p, func(ctx context.Context) error { return e.probe(ctx, name, m) })
			if err == nil && lockCtx(ctx, s) {
				if s.proc == p && s.state == StateStarting {
					s.state = StateUp
				}
				s.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-p.exited:
		}
		if !lockCtx(ctx, s) {
			return
		}
		if s.gone {
			s.mu.Unlock()
			return
		}
		deliberate := s.proc != p || s.state == StateStopped
		if !deliberate {
			s.state = StateCrashed
			// What is left of its session (postgres's backends) must
			// not hold the data when it starts again.
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		}
		s.mu.Unlock()
		if deliberate {
			continue
		}
		if time.Since(began) >= execStableAfter {
			delay = execRestartFirst
		}
		e.log.Warn("add-on exited: restarting it", "addon", name, "pid", p.pid, "in", delay)
		if !sleepCtx(ctx, delay) {
			return
		}
		delay = min(2*delay, execRestartMax)
	}
}

// probe checks that the service answers paasd.
func (e *Exec) probe(ctx context.Context, name string, m execMeta) error {
	if m.Engine == Postgres {
		_, err := e.pgSQL(ctx, name, m, "postgres", "SELECT 1")
		return err
	}
	return e.redisPing(ctx, name, m)
}

// tail hands the lines appended to service name's log to cfg.Lines until
// ctx ends or the service is destroyed, and truncates the log past
// execMaxLog (lines written between the last read and the truncation
// are lost).
func (e *Exec) tail(ctx context.Context, name string, s *execSvc) {
	path := filepath.Join(e.svcDir(name), execLogFile)
	var off int64
	if fi, err := os.Stat(path); err == nil {
		off = fi.Size()
	}
	var partial []byte
	tick := time.NewTicker(execPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		e.mu.Lock()
		gone := s.gone
		e.mu.Unlock()
		f, err := os.Open(path)
		if err != nil {
			if gone || errors.Is(err, os.ErrNotExist) && !e.exists(name) {
				return
			}
			continue
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		if fi.Size() < off {
			off, partial = 0, nil // truncated
		}
		for fi.Size() > off {
			buf := make([]byte, min(fi.Size()-off, execLogRead))
			n, err := f.ReadAt(buf, off)
			off += int64(n)
			e.deliver(name, &partial, buf[:n])
			if err != nil && !errors.Is(err, io.EOF) || n == 0 {
				break
			}
		}
		f.Close()
		if off > e.maxLog {
			if err := e.truncateLog(path); err != nil {
				e.log.Warn("truncating an add-on's log", "addon", name, "err", err)
			} else {
				off, partial = 0, nil
			}
		}
	}
}

// exists reports whether service name's directory exists.
func (e *Exec) exists(name string) bool {
	_, err := os.Stat(e.svcDir(name))
	return err == nil
}

// deliver hands the complete lines of partial+b to cfg.Lines and keeps
// the rest in partial.
func (e *Exec) deliver(name string, partial *[]byte, b []byte) {
	buf := append(*partial, b...)
	i := bytes.LastIndexByte(buf, '\n')
	if i < 0 {
		if len(buf) > 64<<10 { // a runaway line is cut
			i = len(buf) - 1
		} else {
			*partial = buf
			return
		}
	}
	*partial = append([]byte(nil), buf[i+1:]...)
	if e.cfg.Lines == nil {
		return
	}
	var lines [][]byte
	for _, l := range bytes.Split(buf[:i+1], []byte{'\n'}) {
		if l = bytes.TrimRight(l, "\r"); len(l) > 0 {
			lines = append(lines, append([]byte(nil), l...))
		}
	}
	if len(lines) > 0 {
		e.cfg.Lines(name, lines)
	}
}

// truncateLog keeps the log's last execKeepLog bytes in log.1 and
// empties the log; the service appends to it from its start again.
func (e *Exec) truncateLog(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	from := max(fi.Size()-execKeepLog, 0)
	buf := make([]byte, fi.Size()-from)
	n, err := f.ReadAt(buf, from)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := writeFileAtomic(filepath.Join(filepath.Dir(path), execOldLogFile), buf[:n]); err != nil {
		return err
	}
	return f.Truncate(0)
}

// Logs returns the service's last n output lines, oldest first.
func (e *Exec) Logs(ctx context.Context, name string, n int) ([]string, error) {
	if _, err := e.readMeta(name); err != nil {
		return nil, err
	}
	var text []byte
	for _, f := range []string{execOldLogFile, execLogFile} {
		b, err := readTail(filepath.Join(e.svcDir(name), f), execLogRead)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		text = append(text, b...)
		if len(text) > 0 && text[len(text)-1] != '\n' {
			text = append(text, '\n')
		}
	}
	var lines []string
	for _, l := range strings.Split(string(text), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// readTail reads the last max bytes of a file.
func readTail(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	from := fi.Size() - max
	if from < 0 {
		from = 0
	}
	buf := make([]byte, fi.Size()-from)
	n, err := f.ReadAt(buf, from)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}
