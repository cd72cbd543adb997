package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Context keys of a connection's guardedConn and, once its client proved
// it holds an admitted key, its identity.
type (
	connKey     struct{}
	identityKey struct{}
)

// identity is the key a connection authenticated with and the user it
// belongs to.
type identity struct {
	user        user
	fingerprint string
	rules       keyRules
}

var errUnknownKey = errors.New("unknown key")

// authorize looks up the key with fingerprint fp and checks its options
// for a client at remote, now. The error is the reason it is refused.
func (s *Server) authorize(fp string, remote net.Addr) (identity, error) {
	u, k, ok := s.cfg.Platform.User(fp)
	if !ok {
		return identity{}, errUnknownKey
	}
	rules, err := parseKeyOptions(k.Options)
	if err != nil {
		// Options are checked when a key is admitted; a stored key whose
		// options cannot be applied is refused rather than let in without
		// them.
		s.log.Error("refusing a stored key whose options paasd cannot apply", "key", k.Name, "err", err)
		return identity{}, fmt.Errorf("the key's options cannot be applied")
	}
	if err := rules.permits(addrOf(remote), s.now()); err != nil {
		return identity{}, err
	}
	return identity{user: user{name: u.Name, admin: u.Admin}, fingerprint: fp, rules: rules}, nil
}

// addrOf is a TCP address's IP, the zero Addr (matching no from= list) for
// anything else.
func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// publicKeyHandler answers whether a key offered (not yet proven) would
// be accepted, so that a client moves on to its next key early.
func (s *Server) publicKeyHandler(ctx ssh.Context, key ssh.PublicKey) bool {
	fp := gossh.FingerprintSHA256(key)
	_, err := s.authorize(fp, ctx.RemoteAddr())
	if errors.Is(err, errUnknownKey) {
		if gc, ok := ctx.Value(connKey{}).(*guardedConn); ok {
			gc.offered(fp)
		}
	}
	if err != nil && !errors.Is(err, errUnknownKey) {
		s.guard.notices.note("key-refused", "ssh: refusing an admitted key", "remote", ctx.RemoteAddr().String(), "reason", err.Error())
	}
	return err == nil
}

// verifiedKey runs once the client has proven it holds key: the key is
// authorized again, the connection's handshake deadline ends, and the
// identity is kept for the connection's sessions.
func (s *Server) verifiedKey(ctx ssh.Context) func(gossh.ConnMetadata, gossh.PublicKey, *gossh.Permissions, string) (*gossh.Permissions, error) {
	return func(conn gossh.ConnMetadata, key gossh.PublicKey, perms *gossh.Permissions, _ string) (*gossh.Permissions, error) {
		fp := gossh.FingerprintSHA256(key)
		if _, err := s.authorize(fp, conn.RemoteAddr()); err != nil {
			return nil, err
		}
		gc, ok := ctx.Value(connKey{}).(*guardedConn)
		if !ok || !gc.authenticated(fp) {
			return nil, errors.New("connection is closing")
		}
		// Asked again now that the connection is counted under its key:
		// a removal either finished before this look-up, or closes the
		// connection (closeKey) once it has.
		id, err := s.authorize(fp, conn.RemoteAddr())
		if err != nil {
			return nil, err
		}
		ctx.SetValue(identityKey{}, id)
		return perms, nil
	}
}

// identityOf is the identity a connection authenticated with.
func identityOf(ctx ssh.Context) (identity, bool) {
	id, ok := ctx.Value(identityKey{}).(identity)
	return id, ok
}

// ptyAllowed refuses a terminal to a key with no-pty (or restrict).
func ptyAllowed(ctx ssh.Context, _ ssh.Pty) bool {
	id, ok := identityOf(ctx)
	return ok && !id.rules.noPTY
}
