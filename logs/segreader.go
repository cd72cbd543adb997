package logs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// segReadSize is how much of a segment a segReader reads at a time.
const segReadSize = 256 << 10

// segReader reads an app's history on disk forward, one segment after the
// other, keeping its place between reads: a reader that has fallen
// behind catches up reading each byte once. It is not safe for
// concurrent use.
type segReader struct {
	// damaged, when set, is called with the path of a damaged segment
	// the reader skips the rest of.
	damaged func(path string)

	first uint64   // first sequence number of the open segment
	f     *os.File // the open segment, nil when none
	off   int64    // file offset of the end of buf
	buf   []byte
	lo    int // undecoded bytes are buf[lo:]
}

// close closes the open segment.
func (r *segReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.buf, r.lo = r.buf[:0], 0
}

// open opens sg and positions the reader after its magic. A segment
// removed meanwhile returns an error matching fs.ErrNotExist.
func (r *segReader) open(sg segment) error {
	r.close()
	f, err := os.Open(sg.path)
	if err != nil {
		return err
	}
	magic := make([]byte, len(segmentMagic))
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != segmentMagic {
		f.Close()
		return fmt.Errorf("log segment %s: %w", sg.path, errCorruptRecord)
	}
	r.f, r.first, r.off = f, sg.first, int64(len(segmentMagic))
	if r.buf == nil {
		r.buf = make([]byte, 0, segReadSize)
	}
	return nil
}

// fill reads more of the open segment, up to size bytes of file. It
// returns false when there is nothing more to read.
func (r *segReader) fill(size int64) (bool, error) {
	if r.off >= size {
		return false, nil
	}
	// Keep the undecoded rest, then read after it; a record larger than
	// the buffer grows it.
	n := copy(r.buf[:cap(r.buf)], r.buf[r.lo:])
	r.buf, r.lo = r.buf[:n], 0
	if n == cap(r.buf) {
		r.buf = append(r.buf, make([]byte, cap(r.buf))...)[:n]
	}
	want := min(int64(cap(r.buf)-n), size-r.off)
	k, err := r.f.ReadAt(r.buf[n:n+int(want)], r.off)
	r.buf = r.buf[:n+k]
	r.off += int64(k)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading log segment: %w", err)
	}
	return k > 0, nil
}

// read appends to dst the lines of segs numbered from *next to end that
// match f, up to max lines, and advances *next past the lines it looked
// at. Lines missing from the files (removed by the retention or never
// written) are counted in lost and skipped. Where a segment is damaged,
// read appends a damageLine and goes on with the next segment. It reads
// at most to each segment's size in segs, which a caller takes after the
// writer flushed.
func (r *segReader) read(dst []Line, segs []segment, next *uint64, end uint64, f Filter, max int) ([]Line, uint64, error) {
	var lost uint64
	if len(segs) == 0 || *next > end {
		return dst, 0, nil
	}
	if *next < segs[0].first {
		to := min(segs[0].first, end+1)
		lost += to - *next
		*next = to
		if *next > end {
			return dst, lost, nil
		}
	}
	i := 0
	for j, sg := range segs {
		if sg.first <= *next {
			i = j
		}
	}
	// openAt opens segs[i], or the first newer one still there: the lines
	// of those the retention removed meanwhile are lost.
	openAt := func() (bool, error) {
		for ; i < len(segs); i++ {
			err := r.open(segs[i])
			if err == nil {
				return true, nil
			}
			if errors.Is(err, errCorruptRecord) {
				// A damaged start: the segment is skipped.
				dst = r.skip(dst, segs[i].path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
			if i+1 < len(segs) && segs[i+1].first > *next {
				to := min(segs[i+1].first, end+1)
				lost += to - *next
				*next = to
			}
		}
		return false, nil
	}
	if r.f == nil || r.first != segs[i].first {
		if ok, err := openAt(); !ok {
			return dst, lost, err
		}
	}
	for len(dst) < max && *next <= end {
		if r.lo == len(r.buf) || !r.whole() {
			more, err := r.fill(segs[i].size)
			if err != nil {
				return dst, lost, err
			}
			if more {
				continue
			}
			// The segment is read to its end: on to the next one.
			if i+1 >= len(segs) {
				break
			}
			if r.lo != len(r.buf) {
				// It ends in the middle of a record: cut short.
				dst = r.skip(dst, segs[i].path)
			}
			i++
			if ok, err := openAt(); !ok {
				return dst, lost, err
			}
			continue
		}
		data := r.buf[r.lo:]
		// The line's strings share one copy of what is decoded now.
		s := string(data[:r.wholeLen(max-len(dst))])
		for off := 0; off < len(s) && len(dst) < max; {
			l, n, err := decodeRecord(data[off:], s[off:])
			if err != nil {
				// A damaged record ends what this segment can give.
				r.lo = len(r.buf)
				r.off = segs[i].size
				dst = r.skip(dst, segs[i].path)
				break
			}
			if l.Seq > end {
				return dst, lost, nil
			}
			off += n
			r.lo += n
			if l.Seq < *next {
				continue
			}
			lost += l.Seq - *next
			*next = l.Seq + 1
			if f.Match(l) {
				dst = append(dst, l)
			}
		}
	}
	return dst, lost, nil
}

// skip reports the damaged segment at path: it appends the line that
// tells the reader.
func (r *segReader) skip(dst []Line, path string) []Line {
	if r.damaged != nil {
		r.damaged(path)
	}
	return append(dst, damageLine("", path))
}

// whole reports whether the undecoded bytes start with a whole record.
func (r *segReader) whole() bool {
	_, ok := recordLen(r.buf[r.lo:])
	return ok
}

// wholeLen is the length of the whole records, at most limit of them, at
// the start of the undecoded bytes (at least one: whole is true).
func (r *segReader) wholeLen(limit int) int {
	data := r.buf[r.lo:]
	off := 0
	for range max(limit, 1) {
		n, ok := recordLen(data[off:])
		if !ok {
			break
		}
		off += n
	}
	return off
}
