package builder

import (
	"strings"
	"testing"
	"time"
)

// TestDockerBuildStepsRunUnderItsAgent: a build's steps are children of
// the build container's agent, not engine execs, and a step cannot read
// the agent's file descriptors (its connection to paasd).
func TestDockerBuildStepsRunUnderItsAgent(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	bp := customBuildpack(t, b, `echo "parent $PPID: $(tr '\0' ' ' < /proc/$PPID/cmdline)"
if ls /proc/1/fd >/dev/null 2>&1; then echo "agent fds readable"; else echo "agent fds closed"; fi`)
	res, out := build(t, b, Request{App: app, Source: tarball(t, file{name: "x", body: "x"}),
		Config: map[string]string{"BUILDPACK_URL": bp}})
	checkBuiltImage(t, cli, b, app, 1, res)
	contains(t, out, "parent 1: "+viewPaasd+" build:agent \n", "agent fds closed\n")
}

// TestDockerWarmContainerWithLostAgentIsNotTaken: a build container
// started ahead whose connection to its agent ended (an engine restart
// with live-restore keeps the container but not the connection) is left
// for one of the build's own.
func TestDockerWarmContainerWithLostAgentIsNotTaken(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	bp := customBuildpack(t, b, `echo "in $(hostname)"`)
	b.Prewarm(app)
	id := readyWarm(t, b, app)
	b.mu.Lock()
	wm := b.warm[app]
	b.mu.Unlock()
	w := <-wm.ready
	wm.ready <- w
	w.x.agent.close()
	select {
	case <-w.x.agent.ended:
	case <-time.After(time.Minute):
		t.Fatal("the agent's connection did not end")
	}
	res, out := build(t, b, Request{App: app, Source: tarball(t, file{name: "x", body: "x"}),
		Config: map[string]string{"BUILDPACK_URL": bp}})
	checkBuiltImage(t, cli, b, app, 1, res)
	if strings.Contains(out, "in "+id[:12]) {
		t.Errorf("the build ran in the container whose agent was lost:\n%s", out)
	}
}
