package addons

import (
	"slices"
	"testing"
	"time"
)

func TestClientsBefore(t *testing.T) {
	list := "id=3 addr=127.0.0.1:1 laddr=x fd=8 name= age=120 idle=0 flags=N db=0 user=default cmd=get\n" +
		"id=4 addr=127.0.0.1:2 laddr=x fd=9 name= age=3 idle=0 flags=N db=0 user=default cmd=get\n" +
		"id=5 addr=127.0.0.1:3 laddr=x fd=10 name= age=500 idle=0 flags=N db=0 user=paas cmd=client|list\n" +
		"id=6 addr=127.0.0.1:4 laddr=x fd=11 name= age=10 idle=0 flags=N db=0 user=default cmd=get\n"
	for _, c := range []struct {
		d    time.Duration
		want []string
	}{
		{9500 * time.Millisecond, []string{"3", "6"}},
		{10 * time.Second, []string{"3", "6"}},
		{10100 * time.Millisecond, []string{"3"}},
		{time.Hour, nil},
		{-1, []string{"3", "4", "6"}},
	} {
		if got := clientsBefore(list, "default", c.d); !slices.Equal(got, c.want) {
			t.Errorf("clientsBefore(%v) = %v, want %v", c.d, got, c.want)
		}
	}
}
