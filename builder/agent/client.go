package agent

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Client sends steps to an agent and reads back what it sends.
type Client struct {
	mu     sync.Mutex
	w      io.Writer // the agent's standard input
	r      io.Reader // the agent's standard output
	cut    func()    // closes the connection, ending a blocked read
	buf    []byte
	broken error
}

// NewClient is a client of the agent reading steps from w and writing
// frames to r; cut closes both, and is called when a step's context
// ends.
func NewClient(w io.Writer, r io.Reader, cut func()) *Client {
	return &Client{w: w, r: r, cut: cut}
}

// Run has the agent run s, copying the step's output to stdout and
// stderr as it comes, and returns its exit status. An error means the
// agent went away, broke the protocol, or ctx ended while s ran: the
// client is then unusable, and every later Run fails.
func (c *Client) Run(ctx context.Context, s Step, stdout, stderr io.Writer) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return 0, c.broken
	}
	line, err := json.Marshal(s)
	if err != nil {
		return 0, fmt.Errorf("encoding a step: %w", err)
	}
	if len(line) >= maxStep {
		return 0, fmt.Errorf("a step of %d bytes is larger than the agent reads", len(line))
	}
	stop := context.AfterFunc(ctx, c.cut)
	defer stop()
	code, err := c.exchange(append(line, '\n'), stdout, stderr)
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		c.broken = fmt.Errorf("build agent: %w", err)
		return 0, c.broken
	}
	return code, nil
}

// exchange sends one encoded step and reads frames until its exit status.
func (c *Client) exchange(line []byte, stdout, stderr io.Writer) (int, error) {
	if _, err := c.w.Write(line); err != nil {
		return 0, fmt.Errorf("sending a step: %w", err)
	}
	for {
		kind, p, err := readFrame(c.r, c.buf)
		if err != nil {
			return 0, err
		}
		c.buf = p[:0]
		switch kind {
		case kindStdout:
			stdout.Write(p)
		case kindStderr:
			stderr.Write(p)
		case kindExit:
			return int(int32(binary.BigEndian.Uint32(p))), nil
		}
	}
}
