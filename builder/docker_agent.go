package builder

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"paas/builder/agent"
)

// agentConn is paasd's connection to the agent of a build container: the
// container's standard streams, attached before it starts.
type agentConn struct {
	att    types.HijackedResponse
	client *agent.Client
	ended  chan struct{} // closed once the container's output ends
}

// attachAgent attaches to build container id, created with its agent as
// its command and not started yet.
func attachAgent(ctx context.Context, cli dockerAPI, id string, log *slog.Logger) (*agentConn, error) {
	att, err := cli.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	a := &agentConn{att: att, ended: make(chan struct{})}
	go func() {
		defer close(a.ended)
		_, err := stdcopy.StdCopy(pw, &agentLog{log: log}, att.Reader)
		if err == nil {
			err = io.EOF
		}
		pw.CloseWithError(err)
	}()
	a.client = agent.NewClient(att.Conn, pr, func() {
		att.Close()
		pr.Close()
	})
	return a, nil
}

// gone reports whether the container's output has ended: the agent is
// gone, or the engine let the connection go (it restarted).
func (a *agentConn) gone() bool {
	select {
	case <-a.ended:
		return true
	default:
		return false
	}
}

func (a *agentConn) close() { a.att.Close() }

// agentLog logs what the agent writes on its standard error (why it
// stopped), a few lines of it at most.
type agentLog struct {
	mu   sync.Mutex
	log  *slog.Logger
	said int
}

func (l *agentLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.said < 10 {
		l.said++
		l.log.Warn("build agent", "said", string(p[:min(len(p), 512)]))
	}
	return len(p), nil
}
