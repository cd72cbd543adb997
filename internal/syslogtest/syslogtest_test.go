package syslogtest

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

const good = "<134>1 2025-01-02T03:04:05.678901Z host.example web web.1 app - hello world"

func TestReadFrame(t *testing.T) {
	r := bufio.NewReader(strings.NewReader(strconv.Itoa(len(good)) + " " + good + "3 <1>"))
	m, err := ReadFrame(r)
	if err != nil {
		t.Fatal(err)
	}
	if at := time.Date(2025, 1, 2, 3, 4, 5, 678901000, time.UTC); !m.Time.Equal(at) {
		t.Errorf("time %s, want %s", m.Time, at)
	}
	m.Time = time.Time{}
	want := Message{Pri: 134, Hostname: "host.example", AppName: "web", ProcID: "web.1", MsgID: "app", Text: "hello world", Raw: good}
	if m != want {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
	if _, err := ReadFrame(r); !errors.Is(err, ErrMalformed) {
		t.Errorf("a frame cut short: %v", err)
	}
	if _, err := ReadFrame(bufio.NewReader(strings.NewReader(""))); err != io.EOF {
		t.Errorf("at the end of the stream: %v, want io.EOF", err)
	}
}

func TestMalformed(t *testing.T) {
	for _, in := range []string{
		"077 " + good, "x " + good, "5", "2 <1",
		"10 " + strings.Repeat("x", 10),
	} {
		if _, err := ReadFrame(bufio.NewReader(strings.NewReader(in))); !errors.Is(err, ErrMalformed) {
			t.Errorf("%.30q: %v, want ErrMalformed", in, err)
		}
	}
	for _, s := range []string{
		"134>1 2025-01-02T03:04:05.678901Z h a p m - x",  // no PRI
		"<192>1 2025-01-02T03:04:05.678901Z h a p m - x", // PRI too large
		"<134>2 2025-01-02T03:04:05.678901Z h a p m - x", // version
		"<134>1 2025-01-02T03:04:05.678Z h a p m - x",    // milliseconds
		"<134>1 2025-01-02T03:04:05.678901+01:00 h a p m - x",
		"<134>1 2025-01-02T03:04:05.678901Z h a p m [sd] x",
		"<134>1 2025-01-02T03:04:05.678901Z h " + strings.Repeat("a", 49) + " p m - x",
		"<134>1 2025-01-02T03:04:05.678901Z h a p",
	} {
		if _, err := Parse(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %v, want ErrMalformed", s, err)
		}
	}
}
