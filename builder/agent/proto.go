// Package agent runs the steps of a build inside its build container.
//
// The container's first process is the agent (`paasd build:agent`, the
// paasd binary mounted read-only), started as the build user. paasd sends
// it one step at a time on the container's standard input and the agent
// runs the step as its child, sending back on standard output the step's
// output and then its exit status, each as a frame. A step then costs a
// fork and a pipe where an engine exec costs a new process entering the
// container's namespaces through the engine and its runtime, about 50 ms
// each here.
//
// The agent runs as the build's own user, beside the build's processes:
// it is no more trusted than they are. What it reports is taken as the
// build's word about its own steps, as an exec's output is; paasd bounds
// every frame it reads.
package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Command is the paasd subcommand that runs Main.
const Command = "build:agent"

// Step is one command for the agent to run.
type Step struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
}

// Frame kinds, the first byte of a frame's header.
const (
	kindStdout = 'o'
	kindStderr = 'e'
	kindExit   = 'x' // payload: the exit status, a big-endian int32
)

// headerLen is a frame's header: its kind and its payload's length (a
// big-endian uint32).
const headerLen = 5

// maxFrame bounds a frame's payload; the agent sends at most chunkSize.
const (
	chunkSize = 32 << 10
	maxFrame  = 1 << 20
)

// maxStep bounds the encoding of one step (its environment holds the
// app's config).
const maxStep = 64 << 20

// writeFrame writes one frame of kind with payload p to w.
func writeFrame(w io.Writer, kind byte, p []byte) error {
	buf := make([]byte, headerLen+len(p))
	buf[0] = kind
	binary.BigEndian.PutUint32(buf[1:headerLen], uint32(len(p)))
	copy(buf[headerLen:], p)
	_, err := w.Write(buf)
	return err
}

// errProtocol is the error of a frame paasd cannot read as one.
var errProtocol = errors.New("build agent: malformed frame")

// readFrame reads one frame from r into buf (grown as needed) and returns
// its kind and payload.
func readFrame(r io.Reader, buf []byte) (byte, []byte, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("%w: a frame of %d bytes", errProtocol, n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	switch h[0] {
	case kindStdout, kindStderr:
	case kindExit:
		if n != 4 {
			return 0, nil, fmt.Errorf("%w: an exit frame of %d bytes", errProtocol, n)
		}
	default:
		return 0, nil, fmt.Errorf("%w: kind %q", errProtocol, h[0])
	}
	return h[0], buf, nil
}
