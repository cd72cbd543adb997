package logs

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Query selects lines of one app's stream.
type Query struct {
	Filter
	// N is how many of the newest matching lines to return; negative for
	// every retained one.
	N int
	// Since keeps only lines received at or after it; zero for no bound.
	Since time.Time
	// Follow asks a reader to keep receiving new lines after the history.
	// History ignores it; Stream and the platform's Logs honour it.
	Follow bool
}

// errStop ends a scan early.
var errStop = errors.New("stop")

// Tail returns up to n of the app's most recent lines matching f, oldest
// first. A negative n means every retained matching line.
func (a *Aggregator) Tail(app string, n int, f Filter) []Line {
	var out []Line
	a.History(app, Query{Filter: f, N: n}, func(l Line) error {
		out = append(out, l)
		return nil
	})
	return out
}

// History calls fn with the lines q selects, oldest first, from memory
// when the tail holds them all and from disk otherwise. It stops at the
// first error fn returns and returns it. Memory use does not grow with
// q.N: lines are read a segment at a time.
func (a *Aggregator) History(app string, q Query, fn func(Line) error) error {
	l := a.get(app, false)
	if l == nil || q.N == 0 {
		return nil
	}
	l.mu.Lock()
	lines, segs, upto := l.snapshot(q)
	l.mu.Unlock()
	return emitHistory(app, q, lines, segs, upto, fn, func(path string) { a.reportDamage(app, path) })
}

// snapshot answers q from the tail when it can (lines), or else returns
// the segments to read for lines up to sequence number upto. l is locked.
func (l *appLog) snapshot(q Query) (lines []Line, segs []segment, upto uint64) {
	if q.N == 0 {
		return nil, nil, l.seq
	}
	lines, complete := l.history.collect(q)
	first, oldest := uint64(0), l.history.oldest()
	if l.disk != nil {
		first = l.disk.firstSeq()
	}
	if complete || first == 0 || (oldest != 0 && oldest <= first) {
		return lines, nil, l.seq
	}
	segs, _ = l.disk.snapshot()
	return nil, segs, l.seq
}

// emitHistory passes lines or, when segs is set, the lines read from
// them, to fn; damaged is told of each damaged segment (see
// readSegments).
func emitHistory(app string, q Query, lines []Line, segs []segment, upto uint64, fn func(Line) error, damaged func(path string)) error {
	if segs == nil {
		for _, l := range lines {
			if err := fn(l); err != nil {
				return err
			}
		}
		return nil
	}
	return readSegments(app, q, segs, upto, fn, damaged)
}

// readSegments finds where the answer to q starts, walking the segments
// from the newest back, then reads forward from there. Where a segment
// is damaged, fn gets a damageLine after the lines before the damage,
// damaged is told, and reading goes on with the next segment.
func readSegments(app string, q Query, segs []segment, upto uint64, fn func(Line) error, damaged func(path string)) error {
	start, skip := 0, 0
	if q.N >= 0 || !q.Since.IsZero() {
		start = -1
		count := 0
		for i := len(segs) - 1; i >= 0 && start < 0; i-- {
			n, older := 0, false
			_, _ = readSegment(segs[i].path, func(l Line) error {
				if l.Seq > upto {
					return errStop
				}
				if !q.Since.IsZero() && l.Time.Before(q.Since) {
					older = true
					return nil
				}
				if q.Filter.Match(l) {
					n++
				}
				return nil
			})
			count += n
			switch {
			case q.N >= 0 && count >= q.N:
				start, skip = i, count-q.N
			case older:
				start = i
			}
		}
		if start < 0 {
			start = 0
		}
	}
	for i, sg := range segs[start:] {
		newest := start+i == len(segs)-1
		serr, err := readSegment(sg.path, func(l Line) error {
			if l.Seq > upto {
				return errStop
			}
			if (!q.Since.IsZero() && l.Time.Before(q.Since)) || !q.Filter.Match(l) {
				return nil
			}
			if skip > 0 {
				skip--
				return nil
			}
			l.App = app
			return fn(l)
		})
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
		// The newest segment may end in a record being written; any
		// other ends with a whole one.
		if errors.Is(serr, errCorruptRecord) || (serr != nil && !newest) {
			if damaged != nil {
				damaged(sg.path)
			}
			if err := fn(damageLine(app, sg.path)); err != nil {
				return err
			}
		}
	}
	return nil
}

// readSegment calls fn with each line of the segment at path until fn
// returns an error, which it returns. A segment removed meanwhile (by the
// retention or Remove) reads as empty. scanErr tells why the segment's
// records ended before its end: errCorruptRecord where it is damaged,
// errShortRecord where it ends in part of a record; fn got the lines
// before that spot.
func readSegment(path string, fn func(Line) error) (scanErr, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	if !strings.HasPrefix(string(data[:min(len(data), len(segmentMagic))]), segmentMagic) {
		if len(data) < len(segmentMagic) && string(data) == segmentMagic[:len(data)] {
			return errShortRecord, nil
		}
		return errCorruptRecord, nil
	}
	var ferr error
	_, serr := scanRecords(data[len(segmentMagic):], func(l Line) bool {
		ferr = fn(l)
		return ferr == nil
	})
	return serr, ferr
}
