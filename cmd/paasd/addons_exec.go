package main

import (
	"log/slog"
	"path/filepath"
	"syscall"

	"paas/addons"
)

// execAddons returns the backing services of the exec runtime: the host's
// PostgreSQL and Redis, with each service's data under DATA/addons/NAME.
// With per-app users (paasd runs as root), a service runs as a user of its
// own, numbered like an app under the name "addon.NAME" (no app has a dot
// in its name); without, as paasd's own user. lines, when set, receives
// the services' output lines.
func execAddons(dataDir string, users *execUsers, lines func(name string, lines [][]byte), log *slog.Logger) (*addons.Exec, error) {
	cfg := addons.ExecConfig{
		Dir:    filepath.Join(dataDir, "addons"),
		Lines:  lines,
		Logger: log,
	}
	if users != nil {
		cfg.Credential = func(name string) (*syscall.Credential, error) {
			return users.Credential("addon." + name)
		}
	}
	return addons.NewExec(cfg)
}
