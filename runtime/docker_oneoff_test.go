package runtime

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"paas/internal/syncbuf"
)

func TestDockerRunExitStatus(t *testing.T) {
	e := testDocker(t)
	for cmd, want := range map[string]int{
		"true":           0,
		"exit 7":         7,
		"kill -TERM $$":  128 + 15,
		"no-such-cmd-xy": 127,
	} {
		got, err := e.d.Run(t.Context(), e.spec("", 1, cmd), Stdio{})
		if err != nil {
			t.Errorf("%s: %v", cmd, err)
		}
		if got != want {
			t.Errorf("%s: status %d, want %d", cmd, got, want)
		}
	}
	if got := e.sink.get(e.app, "run.1"); len(got) != 0 {
		t.Errorf("the runtime logged one-off output itself (deploy records it, once): %q", got)
	}
	if left := appContainers(t, t.Context(), e.cli, e.app); len(left) != 0 {
		t.Errorf("one-off containers left: %v", left)
	}
}

func TestDockerRunPipes(t *testing.T) {
	e := testDocker(t)
	var stdout, stderr syncbuf.Buffer
	input := strings.Repeat("some input line\n", 10000) + "no newline"
	s := e.spec("run", 4711, `cat; echo "$DYNO $CONFIG ${PORT-noport} $HOME $(pwd)" >&2`)
	s.Env = map[string]string{"CONFIG": "c"}
	s.Web = true
	code, err := e.d.Run(t.Context(), s, Stdio{Stdin: strings.NewReader(input), Stdout: &stdout, Stderr: &stderr})
	if err != nil || code != 0 {
		t.Fatalf("status %d, err %v", code, err)
	}
	if stdout.String() != input {
		t.Errorf("stdout has %d bytes, want %d", len(stdout.String()), len(input))
	}
	if want := "run.4711 c noport /app /app\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

func TestDockerRunNameAndNoPort(t *testing.T) {
	e := testDocker(t)
	s := e.spec("run", 31, `echo started; exec sleep 1000`)
	s.Web = true
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &syncbuf.Buffer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.d.Run(ctx, s, Stdio{Stdout: out})
	}()
	waitFor(t, "one-off to start", func() bool { return strings.Contains(out.String(), "started") })
	info, err := e.cli.ContainerInspect(t.Context(), "paas."+e.app+".run.31")
	if err != nil {
		t.Fatal(err)
	}
	if len(info.HostConfig.PortBindings) != 0 || len(info.NetworkSettings.Ports) != 0 ||
		info.Config.Labels[LabelOneOff] != "true" || string(info.HostConfig.NetworkMode) != "paas-"+e.app {
		t.Errorf("ports %v %v, labels %v, network %s", info.HostConfig.PortBindings, info.NetworkSettings.Ports,
			info.Config.Labels, info.HostConfig.NetworkMode)
	}
	if got := e.d.List(e.app); len(got) != 0 {
		t.Errorf("one-off listed as an instance: %+v", got)
	}
	cancel()
	<-done
}

func TestDockerRunStdinNeverEnds(t *testing.T) {
	e := testDocker(t)
	r, w := io.Pipe()
	defer w.Close()
	var out syncbuf.Buffer
	code, err := e.d.Run(t.Context(), e.spec("run", 1, "echo done"), Stdio{Stdin: r, Stdout: &out})
	if err != nil || code != 0 || out.String() != "done\n" {
		t.Errorf("status %d, err %v, out %q", code, err, out.String())
	}
}

func TestDockerRunCancelKills(t *testing.T) {
	e := testDocker(t)
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncbuf.Buffer{}
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		code, err := e.d.Run(ctx, e.spec("run", 5, `trap '' TERM; echo started; while :; do sleep 0.05; done`), Stdio{Stdout: out})
		res <- result{code, err}
	}()
	waitFor(t, "one-off to start", func() bool { return strings.Contains(out.String(), "started") })
	cancel()
	select {
	case r := <-res:
		if r.code != 128+9 || !errors.Is(r.err, context.Canceled) {
			t.Errorf("status %d, err %v", r.code, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if left := appContainers(t, t.Context(), e.cli, e.app); len(left) != 0 {
		t.Errorf("one-off container left: %v", left)
	}
}

func TestDockerRunTTY(t *testing.T) {
	e := testDocker(t)
	var out syncbuf.Buffer
	code, err := e.d.Run(t.Context(), e.spec("run", 1, `tty; stty size; echo "term=$TERM"; echo err >&2`),
		Stdio{TTY: true, Term: "vt100", Window: WindowSize{Cols: 123, Rows: 45}, Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("status %d, err %v", code, err)
	}
	got := strings.ReplaceAll(out.String(), "\r\n", "\n")
	if !regexp.MustCompile(`^/dev/pts/\d+\n45 123\nterm=vt100\nerr\n$`).MatchString(got) {
		t.Errorf("output = %q", got)
	}
}

func TestDockerRunTTYStdinAndStatus(t *testing.T) {
	e := testDocker(t)
	var out syncbuf.Buffer
	code, err := e.d.Run(t.Context(), e.spec("run", 1, `read -r x; echo "got:$x"; exit 3`),
		Stdio{TTY: true, Stdin: strings.NewReader("abc\n"), Stdout: &out})
	if err != nil || code != 3 {
		t.Fatalf("status %d, err %v", code, err)
	}
	if !strings.Contains(out.String(), "got:abc") {
		t.Errorf("output = %q", out.String())
	}
}

func TestDockerRunTTYResize(t *testing.T) {
	e := testDocker(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resize := make(chan WindowSize)
	out := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		_, err := e.d.Run(ctx, e.spec("run", 1, `trap 'stty size' WINCH; echo ready; while :; do sleep 0.05; done`),
			Stdio{TTY: true, Window: WindowSize{Cols: 80, Rows: 24}, Resize: resize, Stdout: out})
		done <- err
	}()
	waitFor(t, "ready", func() bool { return strings.Contains(out.String(), "ready") })
	resize <- WindowSize{Cols: 132, Rows: 50}
	waitFor(t, "new size", func() bool { return strings.Contains(out.String(), "50 132") })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
