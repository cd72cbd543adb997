package deploy

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"paas/internal/syncbuf"
	"paas/logs"
	"paas/runtime"
)

// TestLineCutter cuts output into lines whatever chunks it comes in,
// removes a terminal's escape sequences from a TTY's output only, and
// cuts an endless line at the log's line length.
func TestLineCutter(t *testing.T) {
	cut := func(tty bool, chunks ...string) []string {
		c := &lineCutter{tty: tty}
		var out []string
		for _, ch := range chunks {
			for _, l := range c.add([]byte(ch)) {
				out = append(out, string(l))
			}
		}
		for _, l := range c.flush() {
			out = append(out, string(l))
		}
		return out
	}
	for _, tc := range []struct {
		tty    bool
		chunks []string
		want   []string
	}{
		{false, []string{"a\nb", "c\n", "d"}, []string{"a", "bc", "d"}},
		{false, []string{"\x1b[31mred\x1b[0m\n"}, []string{"\x1b[31mred\x1b[0m"}},
		{true, []string{"\x1b[31mred\x1b", "[0m\r\n"}, []string{"red\r"}},
		{true, []string{"\x1b]0;title\x07$ ls\r\n"}, []string{"$ ls\r"}},
		{true, []string{"\x1b]0;ti", "tle\x1b\\ok\n"}, []string{"ok"}},
		{true, []string{"\x1b(Bplain\x1b=\n"}, []string{"plain"}},
		{true, []string{"\x1b[?2004hbell\x07\n"}, []string{"bell\x07"}},
	} {
		if got := cut(tc.tty, tc.chunks...); !equal(got, tc.want) {
			t.Errorf("tty=%v %q: %q, want %q", tc.tty, tc.chunks, got, tc.want)
		}
	}
	long := cut(false, strings.Repeat("x", logs.MaxTextBytes+5)+"\n")
	if len(long) != 2 || len(long[0]) != logs.MaxTextBytes || long[1] != "xxxxx" {
		t.Errorf("long line cut into %d pieces", len(long))
	}
	// An unterminated control string hides at most maxEscape bytes.
	hidden := cut(true, "\x1b]"+strings.Repeat("t", maxEscape)+"visible\n")
	if len(hidden) != 1 || !strings.HasSuffix(hidden[0], "visible") {
		t.Errorf("unterminated OSC hid the text: %q", hidden)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOutputLogNeverBlocks fills the backlog of a log whose sink is stuck:
// the terminal still gets every byte at once, the excess is counted as
// dropped, and what was queued is recorded once the sink moves.
func TestOutputLogNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	var got [][]byte
	var dropped int64
	o := newOutputLog(false, func(lines [][]byte) {
		<-release
		for _, l := range lines {
			got = append(got, bytes.Clone(l))
		}
	}, func(n int64) { dropped = n })
	var term bytes.Buffer
	w := o.tee(&term, 0)
	const writes = 3 * outputBacklog
	for i := 0; i < writes; i++ {
		if _, err := io.WriteString(w, "line\n"); err != nil {
			t.Fatal(err)
		}
	}
	if term.Len() != writes*5 {
		t.Fatalf("terminal got %d bytes, want %d", term.Len(), writes*5)
	}
	close(release)
	o.close()
	if int64(len(got))*5+dropped != writes*5 || dropped == 0 {
		t.Errorf("recorded %d lines, dropped %d bytes, of %d lines", len(got), dropped, writes)
	}
}

// runName finds the one-off name in the log line that records its start.
var runName = regexp.MustCompile(`Starting process (run\.\d+)`)

// TestOneOffOutputIsLogged runs a one-off attached: its stdout and
// stderr reach the caller and the app's log as app[run.N], between the
// lines of its start and its exit; it is listed by ps while it runs.
func TestOneOffOutputIsLogged(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("onelog", map[string]string{"Procfile": webProc, "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gate := make(chan struct{})
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		// The one-off waits on its stdin, so ps can be checked while it runs.
		_, err := h.svc.Run(ctx, "onelog", "tester", []string{"sh", "-c", "echo out-$DYNO; echo err-line >&2; read x; echo after"},
			runtime.Stdio{Stdin: chanReader(gate), Stdout: &out, Stderr: io.Discard})
		done <- err
	}()
	var name string
	waitUntil(t, "the one-off in ps", func() bool {
		for n, p := range h.ps("onelog") {
			if p.Type == "run" && p.State == "up" {
				name = n
				return true
			}
		}
		return false
	})
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "out-"+name+"\nafter\n" {
		t.Errorf("stdout %q", got)
	}
	if _, ok := h.ps("onelog")[name]; ok {
		t.Errorf("%s still in ps after it ended", name)
	}
	stream := streamOf(h, "onelog")
	m := runName.FindStringSubmatch(stream)
	if m == nil || m[1] != name {
		t.Fatalf("no start line for %s:\n%s", name, stream)
	}
	// stdout and stderr are two pipes: their lines keep their order
	// within each, and all come between the start and the exit lines.
	start := strings.Index(stream, "paas[api]: Starting process "+name)
	exit := strings.Index(stream, "paas[deploy]: "+name+" exited with status 0")
	if start < 0 || exit < start {
		t.Fatalf("no start and exit lines of %s:\n%s", name, stream)
	}
	for _, w := range []string{"out-" + name, "err-line", "after"} {
		i := strings.Index(stream, "app["+name+"]: "+w+"\n")
		if i < start || i > exit {
			t.Errorf("log lacks %q between the start and exit of %s:\n%s", w, name, stream)
		}
	}
	if strings.Index(stream, "app["+name+"]: after") < strings.Index(stream, "app["+name+"]: out-") {
		t.Errorf("stdout lines out of order:\n%s", stream)
	}
}

// TestDetachedOneOff starts a one-off in the background: it is named at
// once, runs with its output in the log, is listed by ps, and is stopped
// when its app is destroyed.
func TestDetachedOneOff(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("detachy", map[string]string{"Procfile": webProc, "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name, err := h.svc.RunDetached(ctx, "detachy", "tester", []string{"sh", "-c", "echo hello from $DYNO; exec sleep 300"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^run\.\d+$`).MatchString(name) {
		t.Fatalf("name %q", name)
	}
	if p, ok := h.ps("detachy")[name]; !ok || p.State != "up" || !strings.Contains(p.Command, "sleep 300") {
		t.Errorf("ps: %+v", h.ps("detachy"))
	}
	waitUntil(t, "the one-off's output in the log", func() bool {
		return strings.Contains(streamOf(h, "detachy"), "app["+name+"]: hello from "+name)
	})
	// A one-off with no command is refused, and nothing runs.
	if _, err := h.svc.RunDetached(ctx, "detachy", "tester", nil); err == nil {
		t.Error("a detached one-off without a command was accepted")
	}
	destroyed := make(chan error, 1)
	go func() { destroyed <- h.svc.DestroyApp(ctx, "detachy") }()
	select {
	case err := <-destroyed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("destroying the app did not stop its detached one-off")
	}
	if left := h.svc.runs.of("detachy"); len(left) != 0 {
		t.Errorf("one-offs left after destroy: %d", len(left))
	}
}

// TestDetachedOneOffsAreBounded refuses a detached one-off past
// MaxDetached running ones of the app.
func TestDetachedOneOffsAreBounded(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("boundy", map[string]string{"Procfile": webProc, "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < MaxDetached; i++ {
		if _, err := h.svc.RunDetached(ctx, "boundy", "tester", []string{"sleep", "300"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := h.svc.RunDetached(ctx, "boundy", "tester", []string{"sleep", "300"})
	if err == nil || !strings.Contains(err.Error(), "detached one-offs") {
		t.Errorf("one more than %d: %v", MaxDetached, err)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	h.svc.runs.stop(stopCtx, "boundy")
	if n := len(h.svc.runs.of("boundy")); n != 0 {
		t.Errorf("%d one-offs left", n)
	}
}

// chanReader is a stdin that blocks until gate is closed, then ends.
type chanReader chan struct{}

func (c chanReader) Read(p []byte) (int, error) {
	<-c
	if len(p) == 0 {
		return 0, nil
	}
	return 0, io.EOF
}

// TestDetachedOneOffEndsWithPaasd stops paasd under a detached one-off:
// it does not outlive paasd, and the log says why it ended.
func TestDetachedOneOffEndsWithPaasd(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("lasty", map[string]string{"Procfile": webProc, "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	name, err := h.svc.RunDetached(context.Background(), "lasty", "tester", []string{"sleep", "300"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h.svc.Shutdown(ctx)
	if err := h.rt.Shutdown(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	want := "paas[deploy]: " + name + " was stopped: paasd stopped, and one-offs do not outlive it"
	waitUntil(t, "the one-off's end in the log", func() bool { return strings.Contains(streamOf(h, "lasty"), want) })
}

// TestOneOffLogMasksConfig runs `env`-like one-offs: the terminal shows
// the config values they print, the log (and so the drains) masks them.
func TestOneOffLogMasksConfig(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("masky", map[string]string{"Procfile": webProc, "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.svc.SetConfig(ctx, "masky", "tester", map[string]string{"API_TOKEN": "tok-5ecret-value"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out syncbuf.Buffer
	if _, err := h.svc.Run(ctx, "masky", "tester", []string{"sh", "-c", "echo token=$API_TOKEN"}, runtime.Stdio{Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "token=tok-5ecret-value\n" {
		t.Errorf("terminal got %q", out.String())
	}
	stream := streamOf(h, "masky")
	if strings.Contains(stream, "tok-5ecret-value") || !regexp.MustCompile(`app\[run\.\d+\]: token=\*\*\*`).MatchString(stream) {
		t.Errorf("log:\n%s", stream)
	}
}
