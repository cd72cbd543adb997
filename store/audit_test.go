package store

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"paas"
)

func auditEntry(i int) paas.AuditEntry {
	return paas.AuditEntry{
		Seq:         999, // ignored: the store numbers entries
		Time:        time.Date(2026, 12, 6, 6, 0, i, 0, time.UTC),
		User:        "alice",
		Fingerprint: "SHA256:abc",
		Remote:      "192.0.2.1:50000",
		Command:     fmt.Sprintf("ps:scale web web=%d", i),
		App:         "web",
		Status:      i % 2,
		DurationMS:  int64(i),
	}
}

func commands(es []paas.AuditEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Command)
	}
	return out
}

func TestAuditRecordsInOrder(t *testing.T) {
	s, path := open(t)
	// An empty log (a store from before the audit log) reads as empty.
	if got, err := s.AuditEntries(10); err != nil || len(got) != 0 {
		t.Fatalf("empty log: %v %v", got, err)
	}
	for i := 1; i <= 5; i++ {
		e, err := s.RecordAudit(auditEntry(i), 100)
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != uint64(i) {
			t.Errorf("entry %d numbered %d", i, e.Seq)
		}
	}
	got, err := s.AuditEntries(3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ps:scale web web=3", "ps:scale web web=4", "ps:scale web web=5"}; fmt.Sprint(commands(got)) != fmt.Sprint(want) {
		t.Errorf("newest 3, oldest first: %q, want %q", commands(got), want)
	}
	if want := auditEntry(5); got[2].Time != want.Time || got[2].User != want.User || got[2].Fingerprint != want.Fingerprint ||
		got[2].Remote != want.Remote || got[2].App != "web" || got[2].Status != 1 || got[2].DurationMS != 5 || got[2].Seq != 5 {
		t.Errorf("entry read back as %+v, recorded %+v", got[2], want)
	}
	all, err := s.AuditEntries(0)
	if err != nil || len(all) != 5 {
		t.Fatalf("all entries: %d %v", len(all), err)
	}

	// The log survives a reopen, and numbering goes on.
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	e, err := s2.RecordAudit(auditEntry(6), 100)
	if err != nil || e.Seq != 6 {
		t.Fatalf("after a reopen: seq %d, %v", e.Seq, err)
	}
}

func TestAuditKeepsTheNewest(t *testing.T) {
	s, _ := open(t)
	const keep = 4
	for i := 1; i <= 10; i++ {
		if _, err := s.RecordAudit(auditEntry(i), keep); err != nil {
			t.Fatal(err)
		}
		all, err := s.AuditEntries(0)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(i, keep); len(all) != want {
			t.Fatalf("after %d entries %d kept, want %d", i, len(all), want)
		}
		if all[len(all)-1].Seq != uint64(i) || all[0].Seq != uint64(i-len(all)+1) {
			t.Fatalf("after %d entries kept seqs %d..%d", i, all[0].Seq, all[len(all)-1].Seq)
		}
	}
	// A smaller bound trims what is over it at the next entry.
	if _, err := s.RecordAudit(auditEntry(11), 2); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.AuditEntries(0); len(all) != 2 || all[0].Seq != 10 {
		t.Errorf("after lowering the bound: %+v, want entries 10 and 11", all)
	}
}

// The JSON names of an entry are a documented interface (audit --json).
func TestAuditEntryJSON(t *testing.T) {
	e := auditEntry(3)
	e.Seq = 7
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seq":7,"time":"2026-12-06T06:00:03Z","user":"alice","fingerprint":"SHA256:abc","remote":"192.0.2.1:50000","command":"ps:scale web web=3","app":"web","status":1,"duration_ms":3}`
	if string(b) != want {
		t.Errorf("JSON:\n%s\nwant\n%s", b, want)
	}
}
