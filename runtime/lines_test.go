package runtime

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

func collect(t *testing.T, r io.Reader, max int) []string {
	t.Helper()
	var got []string
	if err := splitLines(r, max, func(lines [][]byte) {
		for _, b := range lines {
			got = append(got, string(b))
		}
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSplitLines(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"one", "a\n", []string{"a"}},
		{"no final newline", "a\nb", []string{"a", "b"}},
		{"blank lines", "\n\na\n", []string{"", "", "a"}},
		{"exactly max", "abcde\nf\n", []string{"abcde", "f"}},
		{"max plus one", "abcdef\n", []string{"abcde", "f"}},
		{"two pieces", "abcdefghij\n", []string{"abcde", "fghij"}},
		{"two pieces and more", "abcdefghijk\nl", []string{"abcde", "fghij", "k", "l"}},
		{"no cut inside a rune", "abcdé\n", []string{"abcd", "é"}},
		{"rune ends at max", "abcé\n", []string{"abcé"}},
		{"four byte rune", "ab😀cd\n", []string{"ab", "😀c", "d"}},
		{"invalid utf8 cut at max", "abcd\xc3\xc3\xc3\n", []string{"abcd\xc3", "\xc3\xc3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got := collect(t, r, 5)
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestSplitLinesReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("a\npartial"), iotest.ErrReader(io.ErrUnexpectedEOF))
	var got []string
	err := splitLines(r, 100, func(lines [][]byte) {
		for _, b := range lines {
			got = append(got, string(b))
		}
	})
	if err != io.ErrUnexpectedEOF || strings.Join(got, "|") != "a|partial" {
		t.Errorf("got %q, %v", got, err)
	}
}

func FuzzSplitLines(f *testing.F) {
	f.Add([]byte("a\nb\n"), 3)
	f.Add([]byte("abcdé😀\n\n\xff\xfe"), 4)
	f.Add(bytes.Repeat([]byte("x"), 50), 7)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 4 || max > 64 {
			max = 4 + (max&0xff)%61
		}
		var got [][]byte
		err := splitLines(iotest.HalfReader(bytes.NewReader(in)), max, func(lines [][]byte) {
			for _, b := range lines {
				got = append(got, bytes.Clone(b))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		// Nothing is lost or invented: the pieces, joined, give back the
		// input with only its newlines removed.
		var joined []byte
		for _, l := range got {
			if len(l) > max {
				t.Fatalf("line of %d bytes exceeds %d", len(l), max)
			}
			if bytes.IndexByte(l, '\n') >= 0 {
				t.Fatalf("line %q contains a newline", l)
			}
			if len(l) < max && utf8.Valid(in) && !utf8.Valid(l) {
				t.Fatalf("valid input cut inside a rune: %q", l)
			}
			joined = append(joined, l...)
		}
		if want := bytes.ReplaceAll(in, []byte("\n"), nil); !bytes.Equal(joined, want) {
			t.Fatalf("joined %q, want %q", joined, want)
		}
		// Every newline of the input ends exactly one line.
		if n := bytes.Count(in, []byte("\n")); len(got) < n {
			t.Fatalf("%d lines for %d newlines", len(got), n)
		}
		// Written in pieces of any size, the same lines come out.
		var written [][]byte
		s := newSplitter(max, func(lines [][]byte) {
			for _, b := range lines {
				written = append(written, bytes.Clone(b))
			}
		})
		for rest, k := in, 1; len(rest) > 0; k = k*3%17 + 1 {
			k = min(k, len(rest))
			s.Write(rest[:k])
			rest = rest[k:]
		}
		s.Close()
		if len(written) != len(got) {
			t.Fatalf("written in pieces: %d lines, read: %d", len(written), len(got))
		}
		for i := range got {
			if !bytes.Equal(written[i], got[i]) {
				t.Fatalf("line %d written in pieces %q, read %q", i, written[i], got[i])
			}
		}
	})
}

func TestSplitterBatchesTheLinesOfOneRead(t *testing.T) {
	in := strings.Repeat("0123456789\n", 1000)
	var batches, lines int
	err := splitLines(strings.NewReader(in), MaxLineLength, func(b [][]byte) {
		batches++
		lines += len(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if lines != 1000 || batches != 1 {
		t.Fatalf("%d lines in %d batches, want 1000 in 1", lines, batches)
	}
}

func TestSplitterKeepsAnUnfinishedLineAcrossWrites(t *testing.T) {
	var got []string
	s := newSplitter(MaxLineLength, func(b [][]byte) {
		for _, l := range b {
			got = append(got, string(l))
		}
	})
	s.Write([]byte("a\nhal"))
	s.Write([]byte("f\nend"))
	if strings.Join(got, "|") != "a|half" {
		t.Fatalf("before Close: %q", got)
	}
	s.Close()
	if strings.Join(got, "|") != "a|half|end" {
		t.Fatalf("after Close: %q", got)
	}
}
