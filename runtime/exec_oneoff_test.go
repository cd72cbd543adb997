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

func TestRunExitStatus(t *testing.T) {
	e, sink, _ := testExec(t)
	dir := slug(t, nil)
	for cmd, want := range map[string]int{
		"true":           0,
		"exit 7":         7,
		"kill -TERM $$":  128 + 15,
		"no-such-cmd-xy": 127,
	} {
		got, err := e.Run(t.Context(), Spec{App: "a", Slug: dir, Command: cmd}, Stdio{})
		if err != nil {
			t.Errorf("%s: %v", cmd, err)
		}
		if got != want {
			t.Errorf("%s: status %d, want %d", cmd, got, want)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.lines) != 0 {
		t.Errorf("the runtime logged one-off output itself (deploy records it, once): %v", sink.lines)
	}
}

func TestRunPipes(t *testing.T) {
	t.Setenv("PAAS_RUNTIME_TEST_LEAK", "x")
	e, _, _ := testExec(t)
	dir := slug(t, map[string]string{".profile.d/a.sh": "export FROM_PROFILE=yes\n"})
	var stdout, stderr syncbuf.Buffer
	input := strings.Repeat("some input line\n", 10000) + "no newline"
	code, err := e.Run(t.Context(), Spec{
		App: "a", Index: 4711, Slug: dir, Env: map[string]string{"CONFIG": "c"},
		Command: `cat; echo "$FROM_PROFILE $CONFIG ${PORT-noport} ${PAAS_RUNTIME_TEST_LEAK-noleak} $HOME $(pwd)" >&2`,
	}, Stdio{Stdin: strings.NewReader(input), Stdout: &stdout, Stderr: &stderr})
	if err != nil || code != 0 {
		t.Fatalf("status %d, err %v", code, err)
	}
	if stdout.String() != input {
		t.Errorf("stdout has %d bytes, want %d", len(stdout.String()), len(input))
	}
	if want := "yes c noport noleak " + dir + " " + dir + "\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

func TestRunStdinNeverEnds(t *testing.T) {
	e, _, _ := testExec(t)
	// The caller's stdin stays open; the process not reading it still
	// finishes and Run returns.
	r, w := io.Pipe()
	defer w.Close()
	var out syncbuf.Buffer
	code, err := e.Run(t.Context(), Spec{App: "a", Slug: slug(t, nil), Command: "echo done"},
		Stdio{Stdin: r, Stdout: &out})
	if err != nil || code != 0 || out.String() != "done\n" {
		t.Errorf("status %d, err %v, out %q", code, err, out.String())
	}
}

func TestRunCancelKillsGroup(t *testing.T) {
	e, _, _ := testExec(t)
	dir := slug(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncbuf.Buffer{}
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		code, err := e.Run(ctx, Spec{App: "a", Slug: dir,
			Command: `sleep 100 & echo "$!" > "$HOME/child"; echo started; sleep 100`},
			Stdio{Stdout: out})
		res <- result{code, err}
	}()
	waitFor(t, "one-off to start", func() bool { return strings.Contains(out.String(), "started") })
	child := readPid(t, dir+"/child")
	cancel()
	select {
	case r := <-res:
		if r.code != 128+9 || !errors.Is(r.err, context.Canceled) {
			t.Errorf("status %d, err %v", r.code, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	waitFor(t, "background child to die", func() bool { return processGone(child) })
}

func TestRunTTY(t *testing.T) {
	e, _, _ := testExec(t)
	dir := slug(t, nil)
	var out syncbuf.Buffer
	code, err := e.Run(t.Context(), Spec{App: "a", Slug: dir, Command: `tty; stty size; echo "term=$TERM"; echo err >&2`},
		Stdio{TTY: true, Term: "vt100", Window: WindowSize{Cols: 123, Rows: 45}, Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("status %d, err %v", code, err)
	}
	got := strings.ReplaceAll(out.String(), "\r\n", "\n")
	if !regexp.MustCompile(`^/dev/pts/\d+\n45 123\nterm=vt100\nerr\n$`).MatchString(got) {
		t.Errorf("output = %q", got)
	}
}

func TestRunTTYStdinAndStatus(t *testing.T) {
	e, _, _ := testExec(t)
	var out syncbuf.Buffer
	code, err := e.Run(t.Context(), Spec{App: "a", Slug: slug(t, nil), Command: `read -r x; echo "got:$x"; exit 3`},
		Stdio{TTY: true, Stdin: strings.NewReader("abc\n"), Stdout: &out})
	if err != nil || code != 3 {
		t.Fatalf("status %d, err %v", code, err)
	}
	if !strings.Contains(out.String(), "got:abc") {
		t.Errorf("output = %q", out.String())
	}
}

func TestRunTTYResize(t *testing.T) {
	e, _, _ := testExec(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resize := make(chan WindowSize)
	out := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		_, err := e.Run(ctx, Spec{App: "a", Slug: slug(t, nil),
			Command: `trap 'stty size' WINCH; echo ready; while :; do sleep 0.05; done`},
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

func TestRunKillsLeftovers(t *testing.T) {
	e, _, _ := testExec(t)
	dir := slug(t, nil)
	var out syncbuf.Buffer
	// The background sleep holds stdout open; Run still returns when the
	// command ends, and the sleep is killed.
	code, err := e.Run(t.Context(), Spec{App: "a", Slug: dir,
		Command: `sleep 1000 & echo "$!" > "$HOME/child"; echo out; exit 4`}, Stdio{Stdout: &out})
	if err != nil || code != 4 || out.String() != "out\n" {
		t.Errorf("status %d, err %v, out %q", code, err, out.String())
	}
	child := readPid(t, dir+"/child")
	waitFor(t, "leftover to die", func() bool { return processGone(child) })
}
