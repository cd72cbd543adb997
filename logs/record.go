package logs

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"time"
)

// A segment file starts with segmentMagic, then holds records back to
// back. A record is
//
//	u32 little-endian length of the body
//	u32 little-endian CRC-32C of the body
//	body: uvarint seq, varint time (µs since the Unix epoch, UTC),
//	      varint release, uvarint len + source, uvarint len + proc, text
//
// The checksum finds a record torn by a crash: reading stops there and
// the writer truncates the segment to the last whole record.
const segmentMagic = "PAASLOG\x01"

// recordHeader is the length and checksum in front of a body.
const recordHeader = 8

// maxRecordBody bounds a body; anything larger is corruption. A text is
// at most MaxTextBytes, so real records are far smaller.
const maxRecordBody = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	errShortRecord   = errors.New("incomplete record")
	errCorruptRecord = errors.New("corrupt record")
)

// appendRecord appends l as one record to b.
func appendRecord(b []byte, l *Line) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	body := len(b)
	b = binary.AppendUvarint(b, l.Seq)
	b = binary.AppendVarint(b, l.Time.UnixMicro())
	b = binary.AppendVarint(b, int64(l.Release))
	b = binary.AppendUvarint(b, uint64(len(l.Source)))
	b = append(b, l.Source...)
	b = binary.AppendUvarint(b, uint64(len(l.Proc)))
	b = append(b, l.Proc...)
	b = append(b, l.Text...)
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-body))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[body:], castagnoli))
	return b
}

// recordLen returns the length of the record at the start of data and
// whether data holds all of it. A length beyond any real record counts as
// whole, for decodeRecord to report as corrupt.
func recordLen(data []byte) (int, bool) {
	if len(data) < recordHeader {
		return 0, false
	}
	n := int(binary.LittleEndian.Uint32(data))
	if n > maxRecordBody {
		return recordHeader, true
	}
	if len(data)-recordHeader < n {
		return 0, false
	}
	return recordHeader + n, true
}

// decodeRecord decodes the record at the start of data; s is the same
// bytes as a string, which the line's strings share. It returns the line
// (App unset) and the record's length.
func decodeRecord(data []byte, s string) (Line, int, error) {
	if len(data) < recordHeader {
		return Line{}, 0, errShortRecord
	}
	n := int(binary.LittleEndian.Uint32(data))
	if n > maxRecordBody {
		return Line{}, 0, errCorruptRecord
	}
	if len(data)-recordHeader < n {
		return Line{}, 0, errShortRecord
	}
	body := data[recordHeader : recordHeader+n]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[4:]) {
		return Line{}, 0, errCorruptRecord
	}
	var l Line
	p := 0
	seq, k := binary.Uvarint(body[p:])
	if k <= 0 {
		return Line{}, 0, errCorruptRecord
	}
	p += k
	us, k := binary.Varint(body[p:])
	if k <= 0 {
		return Line{}, 0, errCorruptRecord
	}
	p += k
	rel, k := binary.Varint(body[p:])
	if k <= 0 {
		return Line{}, 0, errCorruptRecord
	}
	p += k
	base := recordHeader
	var fields [2]string
	for i := range fields {
		ln, k := binary.Uvarint(body[p:])
		if k <= 0 || ln > uint64(len(body)-p-k) {
			return Line{}, 0, errCorruptRecord
		}
		p += k
		fields[i] = s[base+p : base+p+int(ln)]
		p += int(ln)
	}
	l.Seq = seq
	l.Time = time.UnixMicro(us).UTC()
	l.Release = int(rel)
	l.Source = internSource(fields[0])
	l.Proc = fields[1]
	l.Text = s[base+p : base+n]
	return l, recordHeader + n, nil
}

// internSource returns the constant for the usual sources so decoded
// lines share them.
func internSource(s string) string {
	switch s {
	case SourceApp:
		return SourceApp
	case SourcePaas:
		return SourcePaas
	}
	return s
}

// scanRecords decodes the records of data (a segment without its magic)
// in order and calls fn for each until fn returns false. It returns how
// many bytes hold whole, valid records and the error that stopped the
// scan early (nil at the clean end of data).
func scanRecords(data []byte, fn func(Line) bool) (int, error) {
	s := string(data)
	off := 0
	for off < len(data) {
		l, n, err := decodeRecord(data[off:], s[off:])
		if err != nil {
			return off, err
		}
		off += n
		if !fn(l) {
			return off, nil
		}
	}
	return off, nil
}
