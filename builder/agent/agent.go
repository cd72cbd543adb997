package agent

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// drainAfterExit is how long the agent still reads a step's output once
// the step has exited: a process it left behind holding the output open
// does not hold the build up, and what it writes later is not the next
// step's.
const drainAfterExit = 200 * time.Millisecond

// Main is `paasd build:agent`: it serves steps on stdin and stdout until
// stdin ends. Processes of the same user may not read its memory or its
// file descriptors (it is not dumpable).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprintf(stderr, "usage: paasd %s\n", Command)
		return 2
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintf(stderr, "build agent: %v\n", err)
		return 1
	}
	if err := Serve(stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "build agent: %v\n", err)
		return 1
	}
	return 0
}

// Serve reads steps, one JSON object a line, from in, runs each, and
// writes its output and exit status to out as frames. It returns nil at
// the end of in.
func Serve(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxStep)
	fw := &frameWriter{w: out}
	for sc.Scan() {
		var s Step
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return fmt.Errorf("reading a step: %w", err)
		}
		code := run(s, fw)
		var p [4]byte
		binary.BigEndian.PutUint32(p[:], uint32(int32(code)))
		if err := fw.frame(kindExit, p[:]); err != nil {
			return err
		}
	}
	return sc.Err()
}

// frameWriter writes whole frames to w, one at a time.
type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (f *frameWriter) frame(kind byte, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return writeFrame(f.w, kind, p)
}

// run runs s with its output sent as frames and returns its exit status:
// 128+N for a step killed by signal N, 127 for a program not found, 126
// for one that cannot be run (a message on its standard error says why).
func run(s Step, fw *frameWriter) int {
	if len(s.Argv) == 0 {
		fw.frame(kindStderr, []byte("build agent: a step with no command\n"))
		return 126
	}
	path, err := lookPath(s.Argv[0], s.Env)
	if err != nil {
		fw.frame(kindStderr, []byte(fmt.Sprintf("build agent: %s: %v\n", s.Argv[0], err)))
		if errors.Is(err, fs.ErrNotExist) {
			return 127
		}
		return 126
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		fw.frame(kindStderr, []byte(fmt.Sprintf("build agent: %v\n", err)))
		return 126
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		fw.frame(kindStderr, []byte(fmt.Sprintf("build agent: %v\n", err)))
		return 126
	}
	cmd := &exec.Cmd{Path: path, Args: s.Argv, Env: s.Env, Dir: s.Dir, Stdout: outW, Stderr: errW}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		fw.frame(kindStderr, []byte(fmt.Sprintf("build agent: %s: %v\n", s.Argv[0], err)))
		return 126
	}
	var copies sync.WaitGroup
	for _, p := range []struct {
		r    *os.File
		kind byte
	}{{outR, kindStdout}, {errR, kindStderr}} {
		copies.Go(func() {
			defer p.r.Close()
			buf := make([]byte, chunkSize)
			for {
				n, err := p.r.Read(buf)
				if n > 0 {
					fw.frame(p.kind, buf[:n])
				}
				if err != nil {
					return
				}
			}
		})
	}
	werr := cmd.Wait()
	deadline := time.Now().Add(drainAfterExit)
	outR.SetReadDeadline(deadline)
	errR.SetReadDeadline(deadline)
	copies.Wait()
	if werr == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fw.frame(kindStderr, []byte(fmt.Sprintf("build agent: %s: %v\n", s.Argv[0], werr)))
	return 126
}

// lookPath finds name as the step's PATH (in env) finds it; a name with a
// slash is taken as it is.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable file not found in $PATH: %w", fs.ErrNotExist)
}
