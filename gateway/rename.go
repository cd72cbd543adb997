package gateway

import (
	"errors"
	"fmt"
	"net"
	"os"

	"paas"
)

// cmdAppsRename serves `apps:rename APP NEW`: the app, its repository
// and all it has take the name NEW; the app's host changes with it.
func cmdAppsRename(s *Server, r *request, app string, args []string) error {
	if len(args) != 1 {
		return usageError(lookupCommand("apps:rename"))
	}
	name := args[0]
	if err := paas.ValidateAppName(name); err != nil {
		return err
	}
	if err := s.cfg.Platform.RenameApp(r.ctx, app, name, r.by, r.stdout); err != nil {
		return err
	}
	// The repository follows; a push to the old name now finds no app.
	if err := os.Rename(s.repoPath(app), s.repoPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("moving the repository of %s to %s: %w", app, name, err)
	}
	fmt.Fprintf(r.stdout, "Renamed %s to %s\n", app, name)
	if s.cfg.AppURL != nil {
		fmt.Fprintf(r.stdout, "URL: %s\n", s.cfg.AppURL(name))
	}
	if remote := r.remoteURL(name); remote != "" {
		fmt.Fprintf(r.stdout, "Git remote: %s\n", remote)
		fmt.Fprintf(r.stdout, "Update your clone with: git remote set-url paas %s\n", remote)
	}
	return nil
}

// remoteURL is the git URL of app at the address this session reached
// the server on; "" outside a real SSH session.
func (r *request) remoteURL(app string) string {
	if r.conn == nil {
		return ""
	}
	addr, ok := r.conn.LocalAddr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	return fmt.Sprintf("ssh://paas@%s/%s", net.JoinHostPort(addr.IP.String(), fmt.Sprint(addr.Port)), app)
}
