package main

import "testing"

func TestParseSetups(t *testing.T) {
	ss, err := parseSetups("3, local,1")
	if err != nil || len(ss) != 3 || ss[0].Nodes != 3 || ss[1].Nodes != 0 || ss[2].Nodes != 1 {
		t.Errorf("parseSetups = %+v, %v", ss, err)
	}
	for _, bad := range []string{"", "2", "1,,3", "swarm"} {
		if _, err := parseSetups(bad); err == nil {
			t.Errorf("parseSetups(%q) accepted", bad)
		}
	}
}

func TestNodeHistory(t *testing.T) {
	a, b := "node-a", "node-b"
	h := nodeHistory{}
	if !h.learn([]instance{{Node: &a}}) {
		t.Error("the first node is not new")
	}
	if h.learn([]instance{{Node: &a}, {Node: nil}}) {
		t.Error("a node seen before, or none, is new")
	}
	if !h.learn([]instance{{Node: &a}, {Node: &b}}) {
		t.Error("a second node is not new")
	}
}
