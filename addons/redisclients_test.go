package addons

import (
	"slices"
	"testing"
)

func TestClientsBefore(t *testing.T) {
	list := "id=3 addr=127.0.0.1:1 laddr=x fd=8 name= age=120 idle=0 flags=N db=0 user=default cmd=get\n" +
		"id=14 addr=127.0.0.1:2 laddr=x fd=9 name= age=3 idle=0 flags=N db=0 user=default cmd=get\n" +
		"id=5 addr=127.0.0.1:3 laddr=x fd=10 name= age=500 idle=0 flags=N db=0 user=paas cmd=client|list\n" +
		"id=9 addr=127.0.0.1:4 laddr=x fd=11 name= age=10 idle=0 flags=N db=0 user=default cmd=get\n"
	for _, c := range []struct {
		mark int64
		want []string
	}{
		{10, []string{"3", "9"}},
		{9, []string{"3"}},
		{15, []string{"3", "14", "9"}},
		{1, nil},
		{-1, []string{"3", "14", "9"}},
	} {
		if got := clientsBefore(list, "default", c.mark); !slices.Equal(got, c.want) {
			t.Errorf("clientsBefore(%d) = %v, want %v", c.mark, got, c.want)
		}
	}
}

func TestMarkFrom(t *testing.T) {
	info := "# Server\r\nredis_version:7.0.15\r\nrun_id:4b3c2a1f\r\ntcp_port:0\r\n"
	m, err := markFrom("57\n", info)
	if err != nil || m != (clientMark{id: 57, run: "4b3c2a1f"}) {
		t.Errorf("markFrom = %+v, %v", m, err)
	}
	if _, err := markFrom("ERR unknown", info); err == nil {
		t.Error("a reply that is no id makes a mark")
	}
	if _, err := markFrom("57", "# Server\r\n"); err == nil {
		t.Error("an INFO reply without run_id makes a mark")
	}
}
