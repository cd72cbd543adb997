package logs

import (
	"encoding/json"
	"hash/fnv"
	"time"
)

// Format says how a reader wants lines printed.
type Format struct {
	// JSON prints one object per line: time, seq, source, instance,
	// release, message.
	JSON bool
	// Color colours each line's source[instance] by instance, for a
	// terminal.
	Color bool
}

// jsonLine is the shape of a line in JSON output.
type jsonLine struct {
	Time     string `json:"time"`
	Seq      uint64 `json:"seq"`
	Source   string `json:"source"`
	Instance string `json:"instance"`
	Release  int    `json:"release"`
	Message  string `json:"message"`
}

// instanceColors are the ANSI foreground colours instances cycle through;
// platform lines are always one colour.
var instanceColors = []string{"\x1b[36m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[92m", "\x1b[93m", "\x1b[95m", "\x1b[94m"}

const (
	paasColor  = "\x1b[31m"
	resetColor = "\x1b[0m"
)

// Append appends l as one output line, newline included, to b.
func (f Format) Append(b []byte, l Line) []byte {
	return f.appendStamped(b, l.Time.UTC().AppendFormat(nil, timeLayout), l)
}

// appendStamped is Append with l's time already formatted.
func (f Format) appendStamped(b, stamp []byte, l Line) []byte {
	if f.JSON {
		j, _ := json.Marshal(jsonLine{
			Time: string(stamp), Seq: l.Seq, Source: l.Source,
			Instance: l.Proc, Release: l.Release, Message: l.Text,
		})
		b = append(b, j...)
		return append(b, '\n')
	}
	b = append(b, stamp...)
	b = append(b, ' ')
	if f.Color {
		b = append(b, colorOf(l)...)
	}
	b = append(b, l.Source...)
	b = append(b, '[')
	b = append(b, l.Proc...)
	b = append(b, ']', ':')
	if f.Color {
		b = append(b, resetColor...)
	}
	b = append(b, ' ')
	b = append(b, l.Text...)
	return append(b, '\n')
}

// printer formats lines in one Format, formatting each receive time once:
// the lines an instance wrote in one go share theirs.
type printer struct {
	f     Format
	t     time.Time
	stamp []byte
}

// append appends l as Format.Append does.
func (p *printer) append(b []byte, l Line) []byte {
	if p.stamp == nil || !l.Time.Equal(p.t) {
		p.t = l.Time
		p.stamp = l.Time.UTC().AppendFormat(p.stamp[:0], timeLayout)
	}
	return p.f.appendStamped(b, p.stamp, l)
}

// colorOf picks l's colour: one per instance name, stable across runs.
func colorOf(l Line) string {
	if l.Source != SourceApp {
		return paasColor
	}
	h := fnv.New32a()
	h.Write([]byte(l.Proc))
	return instanceColors[h.Sum32()%uint32(len(instanceColors))]
}
