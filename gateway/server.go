// Package gateway is the SSH front door of the platform: it authenticates
// public keys, receives git pushes into bare repositories and deploys them
// through a pre-receive hook, and runs the command grammar (apps, config,
// releases, ps, run, logs) against a Platform.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"paas/internal/durable"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Config configures a Server.
type Config struct {
	Addr        string   // listen address, e.g. ":2222" or "127.0.0.1:0"
	HostKeyFile string   // ed25519 host key, PEM (OpenSSH format); generated (0600) when missing
	ReposDir    string   // bare repos live at ReposDir/APP.git
	RunDir      string   // a private dir for the hook unix socket and the hooks dir
	HookCommand []string // argv git runs as the pre-receive hook, e.g. {"/usr/local/bin/paasd", "hook"}
	// SourceFetchCommand is the argv git:sync runs, with URL[#REF] DEST
	// added, to fetch a commit into DEST/.git, e.g. {"/usr/local/bin/paasd",
	// "source:fetch"}; git:sync is refused when it is empty.
	SourceFetchCommand []string
	// AppURL returns the URL an app is served at; it may be nil.
	AppURL   func(app string) string
	Platform Platform
	Logger   *slog.Logger
	// Limits bound connections: the handshake deadline, the idle
	// timeout and the caps on unauthenticated connections.
	Limits ConnLimits
	// Audit records every session of an authenticated key; nil records
	// nothing, and the audit command says so.
	Audit AuditLog
	// Dashboard mints the web dashboard's login URLs (dashboard:url);
	// nil: the server has no dashboard.
	Dashboard DashboardTokens
	// Metrics answers `metrics`; nil keeps none, and the command says so.
	Metrics MetricsSource
	// Nodes manages the swarm's machines (nodes, nodes:add...); nil: the
	// server runs no swarm, and those commands say so.
	Nodes NodeAdmin
}

// Server is the SSH gateway.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ssh    *ssh.Server
	now    func() time.Time
	hooks  *hookServer
	guard  *connGuard
	live   liveSessions // commands running on apps, ended when access is taken away
	initMu sync.Mutex   // serialises creating bare repos

	mu       sync.Mutex
	ln       net.Listener
	shutdown bool
}

// New checks cfg, loads or creates the host key and returns a Server that
// is not yet listening.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Platform == nil:
		return nil, errors.New("gateway: Config.Platform is required")
	case cfg.ReposDir == "" || cfg.RunDir == "" || cfg.HostKeyFile == "":
		return nil, errors.New("gateway: Config.ReposDir, RunDir and HostKeyFile are required")
	case len(cfg.HookCommand) == 0:
		return nil, errors.New("gateway: Config.HookCommand is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var err error
	if cfg.ReposDir, err = filepath.Abs(cfg.ReposDir); err != nil {
		return nil, fmt.Errorf("resolving repos dir: %w", err)
	}
	if cfg.RunDir, err = filepath.Abs(cfg.RunDir); err != nil {
		return nil, fmt.Errorf("resolving run dir: %w", err)
	}
	signer, err := loadOrCreateHostKey(cfg.HostKeyFile)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: time.Now}
	s.hooks = newHookServer(s)
	s.guard = newConnGuard(cfg.Limits, cfg.Logger)
	s.ssh = &ssh.Server{
		Addr:        cfg.Addr,
		HostSigners: []ssh.Signer{signer},
		Handler:     s.handleSession,
		// A connection over the caps is closed before a byte is sent.
		ConnCallback: func(ctx ssh.Context, conn net.Conn) net.Conn {
			gc := s.guard.admit(conn)
			if gc == nil {
				return nil
			}
			ctx.SetValue(connKey{}, gc)
			return gc
		},
		PublicKeyHandler: s.publicKeyHandler,
		PtyCallback:      ptyAllowed,
		ServerConfigCallback: func(ctx ssh.Context) *gossh.ServerConfig {
			c := &gossh.ServerConfig{VerifiedPublicKeyCallback: s.verifiedKey(ctx)}
			c.Ciphers = ciphers()
			return c
		},
		// Sessions only: no port forwarding, no subsystems (SFTP), no
		// global requests, and no agent or X11 forwarding in sessions.
		ChannelHandlers:   map[string]ssh.ChannelHandler{"session": sessionChannel},
		RequestHandlers:   map[string]ssh.RequestHandler{},
		SubsystemHandlers: map[string]ssh.SubsystemHandler{},
		ConnectionFailedCallback: func(conn net.Conn, err error) {
			s.log.Debug("ssh handshake failed", "remote", conn.RemoteAddr().String(), "err", err)
		},
	}
	return s, nil
}

// Listen binds the SSH address and the hook socket, and writes the
// pre-receive hook that git runs.
func (s *Server) Listen() error {
	if err := durable.MkdirAll(s.cfg.ReposDir, 0o755); err != nil {
		return fmt.Errorf("creating repos dir: %w", err)
	}
	if err := os.MkdirAll(s.cfg.RunDir, 0o700); err != nil {
		return fmt.Errorf("creating run dir: %w", err)
	}
	if err := os.Chmod(s.cfg.RunDir, 0o700); err != nil {
		return fmt.Errorf("securing run dir: %w", err)
	}
	if err := writeHookScript(s.hooksDir(), s.cfg.HookCommand); err != nil {
		return err
	}
	if err := s.hooks.listen(s.socketPath()); err != nil {
		return err
	}
	addr := s.cfg.Addr
	if addr == "" {
		addr = ":2222"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.hooks.close()
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.log.Info("ssh gateway listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the SSH listener is bound to, nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts SSH connections and hook connections until Shutdown; it
// returns nil after Shutdown and the first other error otherwise.
func (s *Server) Serve() error {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln == nil {
		return errors.New("gateway: Serve called before Listen")
	}
	go s.hooks.serve()
	err := s.ssh.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, closes those waiting to
// authenticate or running no command, and waits for open sessions (and
// the deploys they run) to end, or for ctx; then it closes whatever is
// still open.
func (s *Server) Shutdown(ctx context.Context) error {
	s.hooks.close()
	s.guard.close()
	err := s.ssh.Shutdown(ctx)
	if err != nil {
		s.ssh.Close()
	}
	s.hooks.wait()
	if errors.Is(err, ssh.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) hooksDir() string   { return filepath.Join(s.cfg.RunDir, "hooks") }
func (s *Server) socketPath() string { return filepath.Join(s.cfg.RunDir, "hook.sock") }
func (s *Server) repoPath(app string) string {
	return filepath.Join(s.cfg.ReposDir, app+".git")
}
