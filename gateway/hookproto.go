package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The hook protocol runs over the hook unix socket between RunHook (in the
// pre-receive hook process) and paasd. Every message is a frame: one type
// byte, a big-endian uint32 payload length, then the payload.
//
// The hook sends one frameRequest whose payload is a JSON hookRequest. The
// server answers with any number of frameOutput frames (bytes for the
// pusher's terminal) and ends with one frameExit whose payload is a single
// byte: the status the hook exits with.
const (
	frameRequest byte = 'Q'
	frameOutput  byte = 'O'
	frameExit    byte = 'X'
)

const (
	maxRequestFrame = 1 << 20
	maxOutputFrame  = 32 << 10
)

// hookRequest is what the hook tells the server.
type hookRequest struct {
	Token string            `json:"token"`
	Refs  []string          `json:"refs"` // "OLD NEW REF" lines as git gave them
	Env   map[string]string `json:"env"`  // the quarantine-related git env of the hook
	// Options are the push options (git push -o OPTION).
	Options []string `json:"options,omitempty"`
}

// hookEnvVars are the variables of the hook's environment forwarded to the
// server, so that git archive there sees the pushed, not yet accepted
// objects.
var hookEnvVars = []string{"GIT_DIR", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"}

var errFrameTooLarge = errors.New("hook protocol: frame too large")

func writeFrame(w io.Writer, typ byte, payload []byte) error {
	buf := make([]byte, 5+len(payload))
	buf[0] = typ
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(payload)))
	copy(buf[5:], payload)
	_, err := w.Write(buf)
	return err
}

// readFrame reads one frame whose payload is at most limit bytes.
func readFrame(r io.Reader, limit int) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if uint64(n) > uint64(limit) {
		return 0, nil, fmt.Errorf("%w: %d bytes", errFrameTooLarge, n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("hook protocol: short frame: %w", err)
	}
	return hdr[0], payload, nil
}
