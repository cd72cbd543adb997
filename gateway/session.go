package gateway

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/gliderlabs/ssh"

	"paas"
	"paas/runtime"
	"paas/shellwords"
)

// handleSession serves one SSH session: a push or one command. The
// session is recorded in the audit log before the client gets its exit
// status.
func (s *Server) handleSession(sess ssh.Session) {
	// While a command runs, its connection is not idle.
	gc, _ := sess.Context().Value(connKey{}).(*guardedConn)
	if gc != nil {
		defer gc.running()()
	}
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()

	id, ok := identityOf(sess.Context())
	if !ok {
		sess.Exit(s.fail(sess.Stderr(), paas.Errorf("public key authentication required")))
		return
	}
	start := s.now()
	ss := s.serveSession(paas.WithActor(ctx, id.user.name), sess, gc, id)
	recorded := ss.status
	if ss.refused && recorded == 0 {
		// git push failed: the entry says so.
		recorded = 1
	}
	s.recordSession(id, sess.RemoteAddr().String(), start, ss.args, ss.unparsable, recorded)
	sess.Exit(ss.status)
	if ss.closeConn && gc != nil {
		// The session removed its own key: it has its answer, then its
		// connection goes like the key's others.
		gc.Close()
	}
}

// sessionResult is what serveSession did: the command line it parsed, the
// exit status (and whether a push was refused though receive-pack
// exited 0), and whether the connection closes after it.
type sessionResult struct {
	args       []string
	unparsable bool
	status     int
	refused    bool // a push the hook refused
	closeConn  bool
}

// serveSession runs the session's command for the key id authenticated.
func (s *Server) serveSession(ctx context.Context, sess ssh.Session, gc *guardedConn, id identity) (res sessionResult) {
	stderr := sess.Stderr()
	raw := sess.RawCommand()
	args, err := shellwords.Split(raw)
	if err != nil {
		res.unparsable = true
	}
	res.args = args
	// The key the client proved it holds is authorized again: it may have
	// been removed or have expired since the connection was opened.
	cur, err2 := s.authorize(id.fingerprint, sess.RemoteAddr())
	if err2 != nil {
		res.status = s.fail(stderr, paas.Errorf("key refused: %v", err2))
		return res
	}
	u := cur.user
	if err != nil {
		res.status = s.fail(stderr, paas.Errorf("cannot parse command: %v", err))
		return res
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, `paas: interactive shells are not supported; try "help"`)
		res.status = 1
		return res
	}
	s.log.Info("ssh command", "by", u.name, "remote", sess.RemoteAddr().String(), "command", args[0])

	switch args[0] {
	case "git-receive-pack":
		if len(args) != 2 {
			res.status = s.fail(stderr, paas.Errorf("usage: git-receive-pack APP"))
			break
		}
		res.status, res.refused = s.push(ctx, u, args[1], sess, sess, stderr)
	case "git-upload-pack":
		if len(args) != 2 {
			res.status = s.fail(stderr, paas.Errorf("usage: git-upload-pack APP"))
			break
		}
		res.status = s.fetch(ctx, u, args[1], sess, sess, stderr)
	default:
		req := &request{ctx: ctx, by: u.name, user: u, key: cur.fingerprint, conn: gc, args: args, stdin: sess, stdout: sess, stderr: stderr,
			client: slices.Contains(sess.Environ(), clientEnv)}
		if pty, winch, isPty := sess.Pty(); isPty {
			req.tty = &ttyInfo{term: pty.Term, window: windowSize(pty.Window), resize: forwardResize(winch)}
		}
		res.status = s.dispatch(req)
		res.closeConn = req.closeConn
	}
	return res
}

func windowSize(w ssh.Window) runtime.WindowSize {
	return runtime.WindowSize{Cols: clampU16(w.Width), Rows: clampU16(w.Height)}
}

func clampU16(n int) uint16 {
	if n < 0 {
		return 0
	}
	if n > 0xffff {
		return 0xffff
	}
	return uint16(n)
}

// forwardResize drains the session's window-change channel (the SSH
// library blocks its request loop until each change is taken) and passes
// the changes on; a reader that falls behind only misses older sizes.
func forwardResize(winch <-chan ssh.Window) <-chan runtime.WindowSize {
	out := make(chan runtime.WindowSize, 1)
	go func() {
		first := true
		for w := range winch {
			if first {
				// The first value is the initial size, already in Stdio.Window.
				first = false
				continue
			}
			ws := windowSize(w)
			select {
			case out <- ws:
			default:
				select {
				case <-out:
				default:
				}
				select {
				case out <- ws:
				default:
				}
			}
		}
	}()
	return out
}

// fail reports err on w as one "paas: ..." line and returns exit status 1.
// Errors that are not user-facing are logged and shown as "internal error".
func (s *Server) fail(w io.Writer, err error) int {
	msg, ok := paas.UserMessage(err)
	if !ok {
		s.log.Error("command failed", "err", err)
	}
	fmt.Fprintf(w, "paas: %s\n", msg)
	return 1
}
