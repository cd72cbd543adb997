// Package syslogtest reads what a syslog drain sends, strictly, for tests:
// octet-counted frames (RFC 6587 3.4.1) holding RFC 5424 messages as paas
// writes them (microsecond UTC timestamps, no structured data). Test code
// only.
package syslogtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Message is one parsed RFC 5424 message.
type Message struct {
	Pri      int
	Time     time.Time
	Hostname string
	AppName  string
	ProcID   string
	MsgID    string
	Text     string
	Raw      string // the whole SYSLOG-MSG
}

// ErrMalformed marks a frame that is broken off or does not parse.
var ErrMalformed = errors.New("malformed syslog frame")

// ReadFrame reads one frame from r and parses it. An error before the
// frame's first byte is r's own (io.EOF for a stream that ends cleanly);
// any other wraps ErrMalformed, and r's error if there is one.
func ReadFrame(r *bufio.Reader) (Message, error) {
	var n int
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if i == 0 {
				return Message{}, err
			}
			return Message{}, fmt.Errorf("%w: reading the length: %w", ErrMalformed, err)
		}
		if c == ' ' && i > 0 {
			break
		}
		if c < '0' || c > '9' || (i == 0 && c == '0') || i > 7 {
			return Message{}, fmt.Errorf("%w: bad octet count byte %q", ErrMalformed, c)
		}
		n = n*10 + int(c-'0')
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Message{}, fmt.Errorf("%w: reading %d octets: %w", ErrMalformed, n, err)
	}
	return Parse(string(buf))
}

// headerLimits are the longest TIMESTAMP, HOSTNAME, APP-NAME, PROCID and
// MSGID RFC 5424 allows.
var headerLimits = [5]int{32, 255, 48, 128, 32}

// Parse parses one SYSLOG-MSG; its errors wrap ErrMalformed.
func Parse(s string) (Message, error) {
	m, err := parse(s)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return m, nil
}

func parse(s string) (Message, error) {
	m := Message{Raw: s}
	rest, ok := strings.CutPrefix(s, "<")
	if !ok {
		return m, fmt.Errorf("no PRI in %q", s)
	}
	pri, rest, ok := strings.Cut(rest, ">")
	if !ok || len(pri) == 0 || len(pri) > 3 || (len(pri) > 1 && pri[0] == '0') {
		return m, fmt.Errorf("bad PRI in %q", s)
	}
	p, err := strconv.Atoi(pri)
	if err != nil || p > 191 {
		return m, fmt.Errorf("bad PRI %q", pri)
	}
	m.Pri = p
	rest, ok = strings.CutPrefix(rest, "1 ")
	if !ok {
		return m, fmt.Errorf("bad VERSION in %q", s)
	}
	var fields [6]string
	for i := range fields {
		var f string
		f, rest, ok = strings.Cut(rest, " ")
		if !ok && i < 5 {
			return m, fmt.Errorf("header ends early in %q", s)
		}
		fields[i] = f
	}
	for i, f := range fields[:5] {
		if f == "" || len(f) > headerLimits[i] {
			return m, fmt.Errorf("header field %d is %q", i, f)
		}
		for _, c := range []byte(f) {
			if c < 33 || c > 126 {
				return m, fmt.Errorf("header field %d has byte %q", i, c)
			}
		}
	}
	if len(fields[0]) != len("2006-01-02T15:04:05.000000Z") {
		return m, fmt.Errorf("timestamp %q is not microseconds in UTC", fields[0])
	}
	if m.Time, err = time.Parse(time.RFC3339Nano, fields[0]); err != nil || !strings.HasSuffix(fields[0], "Z") {
		return m, fmt.Errorf("timestamp %q: %v", fields[0], err)
	}
	m.Hostname, m.AppName, m.ProcID, m.MsgID = fields[1], fields[2], fields[3], fields[4]
	if fields[5] != "-" {
		return m, fmt.Errorf("structured data %q", fields[5])
	}
	m.Text = rest
	return m, nil
}
