package runtime

import (
	"context"
	"testing"
	"time"
)

// Two instances, one burning a core and one holding 50 MB: what Usage
// reports of them shows both.
const (
	burnCommand = `while :; do :; done`
	holdCommand = `x=$(head -c 50000000 /dev/zero | tr '\0' a); sleep 600`
	heldBytes   = 50_000_000
)

type usageReader interface {
	Usage(ctx context.Context, app string) ([]Usage, error)
}

// checkUsage reads u until burn.1 has used burnt of CPU since a first
// reading, once the holder holds its memory, and checks that the CPU time
// is burn.1's, not hold.1's (which sleeps), and the memory hold.1's. How
// fast burn.1 gets there depends on the machine's load, not on Usage:
// the time it takes is not the test.
func checkUsage(t *testing.T, u usageReader, app string) {
	t.Helper()
	read := func() map[string]Usage {
		t.Helper()
		us, err := u.Usage(t.Context(), app)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]Usage{}
		for _, x := range us {
			if x.Instance.App != app {
				t.Errorf("usage of %s listed for %s", x.Instance.App, app)
			}
			out[x.Instance.Name()] = x
		}
		return out
	}
	waitFor(t, "hold.1 to hold its memory", func() bool { return read()["hold.1"].Memory >= heldBytes })
	// Making its string costs the holder CPU; then it sleeps.
	waitFor(t, "hold.1 to sleep", func() bool {
		before := read()["hold.1"].CPU
		time.Sleep(200 * time.Millisecond)
		after := read()["hold.1"].CPU
		return after-before < 10*time.Millisecond
	})
	const burnt = 300 * time.Millisecond
	first := read()
	var second map[string]Usage
	waitFor(t, "burn.1 to use "+burnt.String()+" of CPU", func() bool {
		second = read()
		return second["burn.1"].CPU-first["burn.1"].CPU >= burnt
	})
	burn := second["burn.1"].CPU - first["burn.1"].CPU
	if hold := second["hold.1"].CPU - first["hold.1"].CPU; hold*10 > burn {
		t.Errorf("hold.1, asleep, used %v of CPU while burn.1 used %v", hold, burn)
	}
	if m := second["hold.1"].Memory; m < heldBytes {
		t.Errorf("hold.1 holds %d bytes", m)
	}
	if len(second) != 2 {
		t.Errorf("usage of %d instances: %+v", len(second), second)
	}
}
func TestExecUsage(t *testing.T) {
	e, _, _ := testExec(t)
	dir := slug(t, map[string]string{"README": "usage"})
	for _, typ := range []string{"burn", "hold"} {
		cmd := burnCommand
		if typ == "hold" {
			cmd = holdCommand
		}
		inst, err := e.Start(t.Context(), Spec{App: "usage", Release: 1, Type: typ, Index: 1, Command: cmd, Slug: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Stop(context.Background(), inst.ID, time.Second)
	}
	checkUsage(t, e, "usage")
	if us, err := e.Usage(t.Context(), "other"); err != nil || len(us) != 0 {
		t.Errorf("usage of an app without instances: %+v, %v", us, err)
	}
}

func TestDockerUsage(t *testing.T) {
	env := testDocker(t)
	for _, typ := range []string{"burn", "hold"} {
		cmd := burnCommand
		if typ == "hold" {
			cmd = holdCommand
		}
		if _, err := env.d.Start(t.Context(), env.spec(typ, 1, cmd)); err != nil {
			t.Fatal(err)
		}
	}
	checkUsage(t, env.d, env.app)
}
