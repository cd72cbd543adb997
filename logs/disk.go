package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"paas/internal/durable"
)

// flushBytes is how much a diskLog buffers before writing to its file.
const flushBytes = 64 << 10

// segmentSuffix names segment files: the first sequence number they hold,
// zero-padded so that names sort in order, then the suffix.
const segmentSuffix = ".seg"

// segment is one file of an app's history.
type segment struct {
	first uint64 // sequence number of its first line
	path  string
	size  int64 // bytes including the magic and buffered bytes not yet written
}

// diskLog is the on-disk history of one app: segment files of at most
// segSize bytes (give or take a record), oldest removed once the total
// passes retention. It is not safe for concurrent use; appLog guards it.
type diskLog struct {
	dir       string
	retention int64
	segSize   int64
	segs      []segment // oldest first; the last one is open for appending
	f         *os.File  // the last segment, nil until the first append
	pending   []byte    // encoded records not yet written to f
	written   int64     // bytes of f on disk: what flush cuts a failed write back to
	dirty     bool      // written to f since the last sync
	// retired are full segments written out but not yet synced: the
	// flusher syncs and closes them, so that no writer waits for it.
	retired []*os.File
	failed  error // the last write error, reported once
	// notes tell the operator what opening the history found damaged
	// and did about it.
	notes []string
}

// segmentSize is the segment size for a retention: small enough that
// removing the oldest keeps most of the history, large enough to keep the
// number of files low.
func segmentSize(retention int64) int64 {
	return min(max(retention/8, 16<<10), 8<<20)
}

// openDiskLog opens the history in dir (created when missing) and returns
// it with the sequence number of its last line (0 when empty). A torn
// record at the end of the newest segment, left by a crash, is cut off.
func openDiskLog(dir string, retention int64) (*diskLog, uint64, error) {
	if err := durable.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, fmt.Errorf("creating log directory: %w", err)
	}
	d := &diskLog{dir: dir, retention: retention, segSize: segmentSize(retention)}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, 0, err
	}
	d.segs = segs
	// The last sequence number is in the newest segment with a valid
	// record; empty or unreadable newest segments are removed.
	var last uint64
	for len(d.segs) > 0 {
		sg := d.segs[len(d.segs)-1]
		data, err := os.ReadFile(sg.path)
		if err != nil {
			return nil, 0, fmt.Errorf("reading log segment: %w", err)
		}
		var seq uint64
		valid := 0
		if !strings.HasPrefix(string(data[:min(len(data), len(segmentMagic))]), segmentMagic) && len(data) > len(segmentMagic) {
			// Not a segment any more: kept aside, for inspection.
			aside := sg.path + ".damaged"
			if err := os.Rename(sg.path, aside); err != nil {
				return nil, 0, fmt.Errorf("moving a damaged log segment aside: %w", err)
			}
			d.notes = append(d.notes, fmt.Sprintf("log segment %s is damaged (no segment header): moved to %s; its lines are not read", sg.path, aside))
			d.segs = d.segs[:len(d.segs)-1]
			continue
		}
		if strings.HasPrefix(string(data[:min(len(data), len(segmentMagic))]), segmentMagic) {
			valid, _ = scanRecords(data[len(segmentMagic):], func(l Line) bool { seq = l.Seq; return true })
		}
		if seq == 0 {
			if err := os.Remove(sg.path); err != nil {
				return nil, 0, fmt.Errorf("removing empty log segment: %w", err)
			}
			d.segs = d.segs[:len(d.segs)-1]
			continue
		}
		size := int64(len(segmentMagic) + valid)
		if size < int64(len(data)) {
			if err := os.Truncate(sg.path, size); err != nil {
				return nil, 0, fmt.Errorf("cutting a torn log record: %w", err)
			}
			d.notes = append(d.notes, fmt.Sprintf("log segment %s ended in a torn or damaged record: cut %d bytes after its last whole line", sg.path, int64(len(data))-size))
		}
		d.segs[len(d.segs)-1].size = size
		last = seq
		break
	}
	return d, last, nil
}

// listSegments returns the segment files in dir, oldest first.
func listSegments(dir string) ([]segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing log segments: %w", err)
	}
	var segs []segment
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		first, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		segs = append(segs, segment{first: first, path: filepath.Join(dir, e.Name()), size: info.Size()})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, nil
}

// segmentName is the file name of a segment whose first line is seq.
func segmentName(seq uint64) string {
	return fmt.Sprintf("%020d%s", seq, segmentSuffix)
}

// append buffers l, starting a new segment first when the current one is
// full, and writes the buffer out when it is large.
func (d *diskLog) append(l *Line) error {
	if d.f == nil || d.segs[len(d.segs)-1].size >= d.segSize {
		if err := d.rotate(l.Seq); err != nil {
			return err
		}
	}
	n := len(d.pending)
	d.pending = appendRecord(d.pending, l)
	d.segs[len(d.segs)-1].size += int64(len(d.pending) - n)
	if len(d.pending) >= flushBytes {
		return d.flush()
	}
	return nil
}

// rotate closes the current segment, if any, and opens the newest one for
// appending: an existing one with room (after a restart) or a new one
// whose first line is seq. Then it removes the oldest segments beyond
// the retention.
func (d *diskLog) rotate(seq uint64) error {
	if d.f != nil {
		if err := d.flush(); err != nil {
			return err
		}
		d.retired = append(d.retired, d.f)
		d.f = nil
		d.dirty = false
	}
	if n := len(d.segs); n > 0 && d.segs[n-1].size < d.segSize {
		f, err := os.OpenFile(d.segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("opening log segment: %w", err)
		}
		d.f = f
		d.written = d.segs[n-1].size - int64(len(d.pending))
		return nil
	}
	path := filepath.Join(d.dir, segmentName(seq))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("creating log segment: %w", err)
	}
	// The segment's name is made durable now: the syncs of its
	// records would otherwise keep lines a crash loses with the name.
	if err := durable.SyncDir(d.dir); err != nil {
		f.Close()
		return fmt.Errorf("creating log segment: %w", err)
	}
	d.f = f
	d.written = 0
	d.pending = append(d.pending, segmentMagic...)
	d.segs = append(d.segs, segment{first: seq, path: path, size: int64(len(segmentMagic))})
	d.trim()
	return nil
}

// trim removes the oldest segments while the history is larger than the
// retention; the newest segment always stays.
func (d *diskLog) trim() {
	var total int64
	for _, s := range d.segs {
		total += s.size
	}
	for len(d.segs) > 1 && total > d.retention {
		os.Remove(d.segs[0].path)
		total -= d.segs[0].size
		d.segs = d.segs[1:]
	}
}

// flush writes the buffered records to the file.
func (d *diskLog) flush() error {
	if len(d.pending) == 0 || d.f == nil {
		return nil
	}
	n, err := d.f.Write(d.pending)
	d.dirty = true
	if err != nil {
		return d.dropPending(fmt.Errorf("writing log segment: %w", err))
	}
	d.written += int64(n)
	d.pending = d.pending[:0]
	return nil
}

// dropPending gives up the buffered records after a failed write (a full
// disk): the part of them that reached the file is cut off, so that the
// segment ends with its last whole record and the records written once
// there is room again follow it; a segment left empty keeps its magic.
// It returns err, or the error of the cut.
func (d *diskLog) dropPending(err error) error {
	if terr := d.f.Truncate(d.written); terr != nil {
		// The segment ends in a torn record, which reading cuts at
		// the next start: nothing more may follow it.
		d.segs[len(d.segs)-1].size = d.segSize
		err = errors.Join(err, fmt.Errorf("cutting a partly written log record: %w", terr))
	}
	d.pending = d.pending[:0]
	if d.written == 0 {
		d.pending = append(d.pending, segmentMagic...)
	}
	if d.segs[len(d.segs)-1].size < d.segSize {
		d.segs[len(d.segs)-1].size = d.written + int64(len(d.pending))
	}
	return err
}

// syncTargets flushes and returns the files to fsync: the open segment
// when anything was written to it since the last sync, and the retired
// ones, which the caller closes after syncing. The caller syncs them
// without holding the app's lock; a file closed meanwhile needs no sync.
func (d *diskLog) syncTargets() (current *os.File, retired []*os.File, err error) {
	err = d.flush()
	retired, d.retired = d.retired, nil
	if !d.dirty {
		return nil, retired, err
	}
	d.dirty = false
	return d.f, retired, err
}

// snapshot returns the segments to read for lines up to now, after
// writing the buffer so that the files hold them.
func (d *diskLog) snapshot() ([]segment, error) {
	err := d.flush()
	return append([]segment(nil), d.segs...), err
}

// firstSeq is the sequence number of the oldest line on disk, 0 when none.
func (d *diskLog) firstSeq() uint64 {
	if len(d.segs) == 0 {
		return 0
	}
	return d.segs[0].first
}

// close writes the buffer, syncs and closes the files.
func (d *diskLog) close() error {
	var err error
	for _, f := range d.retired {
		if serr := f.Sync(); err == nil && serr != nil {
			err = fmt.Errorf("syncing log segment: %w", serr)
		}
		f.Close()
	}
	d.retired = nil
	if d.f == nil {
		return err
	}
	if ferr := d.flush(); err == nil {
		err = ferr
	}
	if serr := d.f.Sync(); err == nil && serr != nil {
		err = fmt.Errorf("syncing log segment: %w", serr)
	}
	d.f.Close()
	d.f = nil
	return err
}

// remove closes the history and deletes its directory.
func (d *diskLog) remove() error {
	for _, f := range d.retired {
		f.Close()
	}
	d.retired = nil
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	d.pending = nil
	d.segs = nil
	if err := os.RemoveAll(d.dir); err != nil {
		return fmt.Errorf("removing log history: %w", err)
	}
	return nil
}
