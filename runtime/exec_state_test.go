package runtime

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// stateExec returns an Exec runtime that records its instances in dir,
// shut down at the end of the test.
func stateExec(t *testing.T, dir string) (*Exec, *sink, *exits) {
	t.Helper()
	s, x := newSink(), newExits()
	e := NewExec(ExecConfig{Logs: s, OnExit: x.onExit, StateDir: dir})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx, time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return e, s, x
}

// stateFiles returns the names of the files in dir.
func stateFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestExecReapsOrphans(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	first, sink, x := stateExec(t, state)
	dir := slug(t, nil)
	inst, err := first.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: dir,
		Command: `sleep 1000 & echo $! > "$HOME/child"; echo $$ > "$HOME/leader"; echo ready; wait`})
	if err != nil {
		t.Fatal(err)
	}
	sink.waitLine(t, "a", "worker.1", "ready")
	leader, child := readPid(t, dir+"/leader"), readPid(t, dir+"/child")

	b, err := os.ReadFile(recordPath(state, inst.ID))
	if err != nil {
		t.Fatal(err)
	}
	var rec groupRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	start, err := procStartTime(leader)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != inst.ID || rec.App != "a" || rec.Instance != "worker.1" || rec.PGID != leader ||
		rec.Start != start || rec.Boot == "" {
		t.Errorf("record = %+v, want leader %d started at %d", rec, leader, start)
	}

	// An instance that ends takes its record with it.
	other, err := first.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 2, Slug: dir, Command: `exec sleep 1000`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(recordPath(state, other.ID)); err != nil {
		t.Fatalf("no record for worker.2: %v", err)
	}
	if err := first.Stop(t.Context(), other.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(recordPath(state, other.ID)); !os.IsNotExist(err) {
		t.Errorf("record of a stopped instance left: %v", err)
	}

	// paasd died: a new runtime with the same state directory finds
	// worker.1 still running and kills its whole group.
	second := NewExec(ExecConfig{StateDir: state})
	n, err := second.ReapOrphans()
	if err != nil || n != 1 {
		t.Fatalf("reaped %d, %v; want 1", n, err)
	}
	if !processGone(leader) || !processGone(child) {
		t.Errorf("still running after ReapOrphans: leader %v, grandchild %v", !processGone(leader), !processGone(child))
	}
	if ex := x.wait(t, inst.ID); ex.Code != 128+9 || ex.Stopped {
		t.Errorf("exit = %+v", ex)
	}
	if left := stateFiles(t, state); len(left) != 0 {
		t.Errorf("state files left: %v", left)
	}
	if n, err := second.ReapOrphans(); err != nil || n != 0 {
		t.Errorf("second reap: %d, %v", n, err)
	}
}

func TestExecReapOrphansDropsStaleRecords(t *testing.T) {
	state := t.TempDir()
	// A live process whose number a stale record names.
	bystander := exec.Command("sleep", "1000")
	bystander.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = bystander.Process.Kill()
		_ = bystander.Wait()
	})
	pid := bystander.Process.Pid
	start, err := procStartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	write := func(name string, rec any) {
		t.Helper()
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(state, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("reused.pid", groupRecord{ID: "reused", App: "a", Instance: "web.1", PGID: pid, Start: start + 1, Boot: bootID()})
	write("otherboot.pid", groupRecord{ID: "otherboot", App: "a", Instance: "web.2", PGID: pid, Start: start, Boot: "another-boot"})
	write("gone.pid", groupRecord{ID: "gone", App: "a", Instance: "web.3", PGID: gone.Process.Pid, Start: start, Boot: bootID()})
	write("junk.pid", "not a record")
	write("keep.txt", "not a record file")

	e, sink, _ := stateExec(t, state)
	// The runtime's own instance is not an orphan.
	own, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: slug(t, nil),
		Command: `echo ready; exec sleep 1000`})
	if err != nil {
		t.Fatal(err)
	}
	sink.waitLine(t, "a", "worker.1", "ready")

	n, err := e.ReapOrphans()
	if err != nil || n != 0 {
		t.Fatalf("reaped %d, %v; want 0", n, err)
	}
	if processGone(pid) {
		t.Error("process named by a stale record was killed")
	}
	if got := e.List("a"); len(got) != 1 || got[0].ID != own.ID {
		t.Errorf("own instance gone: %+v", got)
	}
	want := map[string]bool{"keep.txt": true, filepath.Base(recordPath(state, own.ID)): true}
	left := stateFiles(t, state)
	if len(left) != len(want) {
		t.Errorf("state files left: %v, want %v", left, want)
	}
	for _, f := range left {
		if !want[f] {
			t.Errorf("state file %s left", f)
		}
	}
}

func TestExecReapOrphansWithoutRecords(t *testing.T) {
	e, _, _ := testExec(t)
	if n, err := e.ReapOrphans(); err != nil || n != 0 {
		t.Errorf("reap without a state dir: %d, %v", n, err)
	}
	missing := NewExec(ExecConfig{StateDir: filepath.Join(t.TempDir(), "missing")})
	if n, err := missing.ReapOrphans(); err != nil || n != 0 {
		t.Errorf("reap with a missing state dir: %d, %v", n, err)
	}
}
