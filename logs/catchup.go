package logs

import "errors"

// readRange calls fn with the app's lines numbered from to to (inclusive)
// that match f, oldest first, from the tail in memory or from disk. It
// returns how many it passed; lines the retention has removed are
// missing.
func (a *Aggregator) readRange(app string, f Filter, from, to uint64, fn func(Line) error) (int, error) {
	l := a.get(app, false)
	if l == nil {
		return 0, nil
	}
	var lines []Line
	var segs []segment
	l.mu.Lock()
	if oldest := l.history.oldest(); oldest != 0 && oldest <= from {
		r := l.history
		for i := range r.lines {
			ln := r.lines[(r.next+i)%len(r.lines)]
			if ln.Seq >= from && ln.Seq <= to && f.Match(ln) {
				lines = append(lines, ln)
			}
		}
	} else if l.disk != nil {
		segs, _ = l.disk.snapshot()
	}
	l.mu.Unlock()
	n := 0
	for _, ln := range lines {
		if err := fn(ln); err != nil {
			return n, err
		}
		n++
	}
	start := 0
	for i, sg := range segs {
		if sg.first <= from {
			start = i
		}
	}
	for _, sg := range segs[min(start, len(segs)):] {
		err := readSegment(sg.path, func(ln Line) error {
			if ln.Seq > to {
				return errStop
			}
			if ln.Seq < from || !f.Match(ln) {
				return nil
			}
			ln.App = app
			n++
			return fn(ln)
		})
		if errors.Is(err, errStop) {
			break
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
