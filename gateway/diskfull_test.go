package gateway

import (
	"bytes"
	"testing"
)

func TestDiskFullWatch(t *testing.T) {
	for _, tc := range []struct {
		writes []string
		seen   bool
	}{
		{[]string{"error: unable to write file: No space left on device\n"}, true},
		{[]string{"fatal: write error: No space ", "left on device\n"}, true},
		{[]string{"No", " space", " left on", " dev", "ice"}, true},
		{[]string{"error: unable to write file\n", "fatal: unpack-objects failed\n"}, false},
		{[]string{"No space left on dev", "\nice"}, false},
	} {
		var out bytes.Buffer
		d := &diskFullWatch{w: &out}
		want := ""
		for _, w := range tc.writes {
			if n, err := d.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
			want += w
		}
		if d.seen != tc.seen || out.String() != want {
			t.Errorf("%q: seen %v, passed %q", tc.writes, d.seen, out.String())
		}
	}
	// After the hook has started, the text is the build's.
	var out bytes.Buffer
	d := &diskFullWatch{w: &out, hooked: func() bool { return true }}
	d.Write([]byte("No space left on device\n"))
	if d.seen || out.String() != "No space left on device\n" {
		t.Errorf("after the hook: seen %v, passed %q", d.seen, out.String())
	}
}
