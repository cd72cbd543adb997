package runtime

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needPrlimit skips a test of the exec runtime's limits on a host without
// util-linux's prlimit, which applies them.
func needPrlimit(t *testing.T) {
	t.Helper()
	if findPrlimit() == "" {
		t.Skip("util-linux's prlimit is not installed")
	}
}

// processesOf counts the processes whose real user is uid.
func processesOf(t *testing.T, uid uint32) int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", d.Name()), &st) == nil && st.Uid == uid {
			n++
		}
	}
	return n
}

func TestExecForkBombStopsAtTheAppsProcessCap(t *testing.T) {
	needPrlimit(t)
	e, sink, x, base := userExec(t)
	e.cfg.MaxProcs = 20
	dir := rootSlug(t, base, "a", nil)
	// A one-off of the app starts under the cap.
	var out bytes.Buffer
	if _, err := e.Run(t.Context(), Spec{App: "a", Slug: dir, Command: "cat /proc/self/limits"}, Stdio{Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if got := limitOf(out.String(), "Max processes"); got != "20 20" {
		t.Errorf("one-off's process limit %q, want 20 20", got)
	}
	// dash gives up at the first fork the kernel refuses; the instance
	// then waits, holding what it got.
	bomb := `/bin/sh -c 'i=0; while [ $i -lt 200 ]; do sleep 1000 & i=$((i+1)); done' 2>/dev/null; echo bomb-over; exec sleep 1000`
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: dir, Command: bomb})
	if err != nil {
		t.Fatal(err)
	}
	sink.waitLine(t, "a", "worker.1", "bomb-over")
	if n := processesOf(t, testCreds["a"].Uid); n > 20 {
		t.Errorf("the app's user has %d processes, over its cap of 20", n)
	}
	if err := e.Stop(t.Context(), inst.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	x.wait(t, inst.ID)
}

func TestExecMemoryLimitStopsAHog(t *testing.T) {
	needPrlimit(t)
	e, sink, x := testExec(t)
	e.cfg.DefaultMemory = 64 << 20
	dir := slug(t, nil)
	// tail holds a "line" with no end in memory: 300 MB of it.
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: dir,
		Command: `head -c 300000000 /dev/zero | tail >/dev/null; echo "tail=$?"`})
	if err != nil {
		t.Fatal(err)
	}
	x.wait(t, inst.ID)
	if got := sink.get("a", "worker.1"); len(got) == 0 || got[len(got)-1] == "tail=0" {
		t.Errorf("a process mapped 300 MB under a 64 MB limit: %q", got)
	}

	// A spec's own memory wins over the default, in one-offs too.
	var out bytes.Buffer
	if _, err := e.Run(t.Context(), Spec{App: "a", Slug: dir, Memory: 32 << 20, Command: "cat /proc/self/limits"}, Stdio{Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if got, want := limitOf(out.String(), "Max data size"), "33554432 33554432"; got != want {
		t.Errorf("one-off's data limit %q, want %q", got, want)
	}
	// Without a user of its own the app gets no process cap: the kernel
	// counts processes per user, and this one is the runtime's.
	if got := limitOf(out.String(), "Max processes"); strings.HasPrefix(got, strconv.Itoa(DefaultExecProcs)+" ") {
		t.Errorf("process limit %q without a user of the app's own", got)
	}
}

// limitOf returns the soft and hard values of the named row of a
// /proc/PID/limits listing.
func limitOf(limits, name string) string {
	for line := range strings.Lines(limits) {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				return f[0] + " " + f[1]
			}
		}
	}
	return ""
}

// sessionOf reads the session id of process pid.
func sessionOf(t *testing.T, pid string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid pgrp session ...; comm may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return f[3]
}

// TestExecProcessesLeadSessionsOfTheirOwn: instances and one-offs lead a
// session of their own, which the kernel's autogroup scheduling gives a
// CPU share of its own.
func TestExecProcessesLeadSessionsOfTheirOwn(t *testing.T) {
	e, sink, x := testExec(t)
	dir := slug(t, nil)
	own := sessionOf(t, "self")
	inst, err := e.Start(t.Context(), Spec{App: "a", Type: "worker", Index: 1, Slug: dir,
		Command: `echo $$ > "$HOME/pid"; echo ready; exec sleep 1000`})
	if err != nil {
		t.Fatal(err)
	}
	sink.waitLine(t, "a", "worker.1", "ready")
	pid := strconv.Itoa(readPid(t, dir+"/pid"))
	if sid := sessionOf(t, pid); sid != pid || sid == own {
		t.Errorf("instance %s is in session %s (the runtime's: %s), want its own", pid, sid, own)
	}
	if err := e.Stop(t.Context(), inst.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	x.wait(t, inst.ID)

	var out bytes.Buffer
	if _, err := e.Run(t.Context(), Spec{App: "a", Slug: dir, Command: `echo "$$ $(cut -d' ' -f6 /proc/$$/stat)"`}, Stdio{Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(out.String()); len(f) != 2 || f[0] != f[1] || f[1] == own {
		t.Errorf("one-off printed pid and session %q (the runtime's: %s), want its own", out.String(), own)
	}
}
