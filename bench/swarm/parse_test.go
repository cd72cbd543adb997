package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	out := `Running 3s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Latency Distribution
     50%  612.00us
     75%    1.10ms
     99%   12.50ms
  40000 requests in 3.00s, 7.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  13333.33
Transfer/sec:      2.37MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{rps: 13333.33, p50: 612 * time.Microsecond, p99: 12500 * time.Microsecond, requests: 40000, errors: 7}
	if r != want {
		t.Errorf("parseWrk = %+v, want %+v", r, want)
	}
	if _, err := parseWrk("Requests/sec: 1\n"); err == nil {
		t.Error("a report without latencies parsed")
	}
	if _, err := parseWrk("     50%  12.0xs\n"); err == nil {
		t.Error("a bad latency parsed")
	}
}

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
