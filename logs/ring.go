package logs

// ring is the bounded in-memory history of one app: the last cap lines in
// arrival order. It is the seam where an on-disk history can take over.
// It is not safe for concurrent use; appLog guards it.
type ring struct {
	lines []Line
	next  int // where the next line goes once lines is full
	limit int
}

func newRing(limit int) *ring {
	return &ring{limit: limit}
}

// add appends l, dropping the oldest line when full.
func (r *ring) add(l Line) {
	if len(r.lines) < r.limit {
		r.lines = append(r.lines, l)
		return
	}
	r.lines[r.next] = l
	r.next = (r.next + 1) % r.limit
}

// last returns up to n of the newest lines matching f, oldest first. A
// negative n means every retained matching line.
func (r *ring) last(n int, f Filter) []Line {
	if n == 0 || len(r.lines) == 0 {
		return nil
	}
	if n < 0 || n > len(r.lines) {
		n = len(r.lines)
	}
	out := make([]Line, 0, min(n, 64))
	// Walk from newest to oldest, then reverse.
	size := len(r.lines)
	for i := 0; i < size && len(out) < n; i++ {
		l := r.lines[(r.next-1-i+2*size)%size]
		if f.Match(l) {
			out = append(out, l)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
