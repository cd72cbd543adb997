package gateway

import (
	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// refusedSessionRequests are session requests the gateway answers no to,
// whoever asks: it forwards no agent and no X11 display, and a command's
// environment is the release's config, never the client's. (Port
// forwarding needs channels and global requests the server has no
// handler for, so those are refused too.) The one "env" request granted
// is clientEnv's.
var refusedSessionRequests = map[string]bool{
	"auth-agent-req@openssh.com": true,
	"x11-req":                    true,
	"env":                        true,
}

// clientEnv is what the paas client sets (ssh -o SetEnv) so that usage
// lines are shown in its grammar. It reaches no process: only the
// gateway reads it.
const clientEnv = "PAAS_CLIENT=1"

// grantedEnv reports whether an "env" request sets clientEnv.
func grantedEnv(r *gossh.Request) bool {
	var kv struct{ Name, Value string }
	if err := gossh.Unmarshal(r.Payload, &kv); err != nil {
		return false
	}
	return kv.Name+"="+kv.Value == clientEnv
}

// sessionChannel serves a session channel with the library's session
// handler, after answering no to the requests it must not grant.
func sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	ssh.DefaultSessionHandler(srv, conn, filteredChannel{newChan}, ctx)
}

// filteredChannel is a new session channel whose requests are filtered.
type filteredChannel struct{ gossh.NewChannel }

// Accept accepts the channel and passes on its requests, in order, except
// those refused here.
func (f filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		for r := range reqs {
			if refusedSessionRequests[r.Type] && !(r.Type == "env" && grantedEnv(r)) {
				r.Reply(false, nil)
				continue
			}
			out <- r
		}
	}()
	return ch, out, nil
}
