package logs

// ring is the bounded in-memory tail of one app: the last limit lines in
// arrival order. Older lines are read from disk. It is not safe for
// concurrent use; appLog guards it.
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

// oldest returns the sequence number of the oldest line held, 0 when
// empty.
func (r *ring) oldest() uint64 {
	if len(r.lines) == 0 {
		return 0
	}
	if len(r.lines) < r.limit {
		return r.lines[0].Seq
	}
	return r.lines[r.next].Seq
}

// collect returns the lines q asks for, oldest first, when the ring holds
// all of them: complete is false when older lines than the ring holds may
// belong to the answer.
func (r *ring) collect(q Query) (out []Line, complete bool) {
	size := len(r.lines)
	// Walk from newest to oldest, then reverse.
	complete = false
	for i := 0; i < size; i++ {
		if q.N >= 0 && len(out) >= q.N {
			complete = true
			break
		}
		l := r.lines[(r.next-1-i+2*size)%size]
		if !q.Since.IsZero() && l.Time.Before(q.Since) {
			complete = true
			break
		}
		if q.Filter.Match(l) {
			out = append(out, l)
		}
	}
	if q.N >= 0 && len(out) >= q.N {
		complete = true
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, complete
}

// appendFrom appends to dst the held lines numbered from on that match f,
// oldest first, up to max lines, and returns it with the sequence number
// after the last line it looked at. from must be held: at least oldest()
// and at most the newest line's number.
func (r *ring) appendFrom(dst []Line, from uint64, f Filter, max int) ([]Line, uint64) {
	size := len(r.lines)
	start := 0
	if size == r.limit {
		start = r.next
	}
	i := int(from - r.oldest())
	next := from
	for ; i < size && len(dst) < max; i++ {
		l := r.lines[(start+i)%size]
		next = l.Seq + 1
		if f.Match(l) {
			dst = append(dst, l)
		}
	}
	return dst, next
}
