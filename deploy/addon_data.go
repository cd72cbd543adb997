package deploy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"paas/logs"
	"paas/runtime"
)

// ConnectAddon runs the engine's client (psql, redis-cli) logged in to
// add-on name, attached to stdio, and returns its exit status.
func (s *Service) ConnectAddon(ctx context.Context, name, by string, stdio runtime.Stdio) (int, error) {
	a, err := s.addonRecord(name)
	if err != nil {
		return 0, err
	}
	s.log.Info("add-on client session", "addon", name, "by", by, "tty", stdio.TTY)
	code, err := s.cfg.Addons.Connect(ctx, name, a.User, a.Password, stdio)
	if err != nil {
		return code, fmt.Errorf("connecting to add-on %s: %w", name, maskAll(err, a.Passwords()))
	}
	return code, nil
}

// RestoreAddon replaces add-on name's data with the dump read from r. A
// dump the service refuses, or a restore that fails, leaves the data as
// it was.
func (s *Service) RestoreAddon(ctx context.Context, name, by string, r io.Reader) error {
	if _, err := s.addonRecord(name); err != nil {
		return err
	}
	unlock, err := s.addonLock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	a, err := s.addonRecord(name)
	if err != nil {
		return err
	}
	if err := s.cfg.Addons.Restore(ctx, name, r); err != nil {
		return fmt.Errorf("restoring add-on %s: %w", name, maskAll(err, a.Passwords()))
	}
	for _, app := range slices.Sorted(maps.Keys(a.Attachments)) {
		s.change(app, 0, "Add-on %s restored from a dump by %s", name, by)
	}
	return nil
}

// addonLogs returns the last n lines of a's service, passwords masked;
// none when they cannot be read.
func (s *Service) addonLogs(ctx context.Context, name string, passwords []string, n int) []string {
	lines, err := s.cfg.Addons.Logs(ctx, name, n)
	if err != nil {
		s.log.Error("reading an add-on's log", "addon", name, "err", maskAll(err, passwords))
		return nil
	}
	for i, l := range lines {
		lines[i] = maskValues(l, slices.Clone(passwords))
	}
	return lines
}

// AddonLines writes lines of add-on name's service output to the stream
// of every app it is attached to, as paas[addon.NAME], its passwords
// masked. Lines of an add-on the store does not know are dropped.
func (s *Service) AddonLines(name string, lines [][]byte) {
	if s.cfg.Logs == nil || len(lines) == 0 {
		return
	}
	a, err := s.cfg.Store.Addon(name)
	if err != nil || len(a.Attachments) == 0 {
		return
	}
	passwords := a.Passwords()
	proc := "addon." + name
	for _, l := range lines {
		text := maskValues(string(l), slices.Clone(passwords))
		for app := range a.Attachments {
			s.cfg.Logs.Write(app, logs.SourcePaas, proc, text)
		}
	}
}
