package paasd

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// keptLines is how many of paasd's last output lines a logWatch keeps.
const keptLines = 20

// listenAddrs is paasd's {"msg":"listening"} log record.
type listenAddrs struct {
	Msg   string `json:"msg"`
	SSH   string `json:"ssh"`
	HTTP  string `json:"http"`
	HTTPS string `json:"https"`
}

// logWatch takes paasd's output, reports its listening addresses once
// and keeps the last lines for error messages.
type logWatch struct {
	listening chan listenAddrs
	mu        sync.Mutex
	partial   []byte
	last      []string
	found     bool
}

func newLogWatch() *logWatch {
	return &logWatch{listening: make(chan listenAddrs, 1)}
}

// Write implements io.Writer.
func (w *logWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		w.last = append(w.last, line)
		if len(w.last) > keptLines {
			w.last = w.last[1:]
		}
		var rec listenAddrs
		if !w.found && json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
			w.found = true
			w.listening <- rec
		}
	}
}

// tail is the last lines written, oldest first.
func (w *logWatch) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.last, "\n")
}
