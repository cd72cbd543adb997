package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"paas"
	"paas/store"
)

// Stored backups: BackupDir/NAME/ID.dump, one file per backup, whose ID is
// the UTC second it was taken (see paas.AddonBackup). A backup is written
// to a temporary file in the same directory, synced, then renamed: a
// backup that fails, or is interrupted, leaves no file under an ID.
// Directories are 0700 and files 0600: a dump holds the service's data.

const (
	backupExt = ".dump"
	backupTmp = ".tmp-" // prefix of a backup being written
	// backupEvery is the age of an add-on's newest backup at which the
	// scheduler takes another.
	backupEvery = 24 * time.Hour
	// addonInfoLines is how many of the service's last lines addons:info
	// shows.
	addonInfoLines = 10
)

// parseBackupID reads an ID: its time and its number within that second.
func parseBackupID(id string) (time.Time, int, bool) {
	t, n, err := paas.ParseBackupID(id)
	return t, n, err == nil
}

func (s *Service) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// backupDir is where add-on name's backups are stored.
func (s *Service) backupDir(name string) string {
	return filepath.Join(s.cfg.BackupDir, name)
}

// backupsOn fails when the server stores no backups.
func (s *Service) backupsOn() error {
	if s.cfg.BackupDir == "" || s.cfg.KeepBackups <= 0 {
		return paas.Errorf("this server stores no add-on backups (PAAS_ADDON_BACKUPS=0); stream one with addons:backup NAME > FILE")
	}
	return nil
}

// backups lists add-on name's stored backups, oldest first.
func (s *Service) backups(name string) ([]paas.AddonBackup, error) {
	if s.cfg.BackupDir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(s.backupDir(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing backups: %w", err)
	}
	type entry struct {
		b paas.AddonBackup
		n int
	}
	var list []entry
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), backupExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		t, n, ok := parseBackupID(id)
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		list = append(list, entry{paas.AddonBackup{ID: id, Time: t, Size: info.Size()}, n})
	}
	slices.SortFunc(list, func(a, b entry) int {
		if c := a.b.Time.Compare(b.b.Time); c != 0 {
			return c
		}
		return a.n - b.n
	})
	out := make([]paas.AddonBackup, len(list))
	for i, e := range list {
		out[i] = e.b
	}
	return out, nil
}

// newBackupID is the ID of a backup of name taken now: the second, with
// "-2", "-3"... when that second has backups already.
func (s *Service) newBackupID(name string) string {
	stamp := s.now().UTC().Format(paas.BackupIDLayout)
	id := stamp
	for n := 2; ; n++ {
		if _, err := os.Lstat(filepath.Join(s.backupDir(name), id+backupExt)); errors.Is(err, fs.ErrNotExist) {
			return id
		}
		id = fmt.Sprintf("%s-%d", stamp, n)
	}
}

// capture stores a new backup of a and prunes the oldest beyond
// KeepBackups. The caller holds a's lock.
func (s *Service) capture(ctx context.Context, a store.Addon) (paas.AddonBackup, error) {
	dir := s.backupDir(a.Name)
	for _, d := range []string{s.cfg.BackupDir, dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return paas.AddonBackup{}, fmt.Errorf("making the backup directory: %w", err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return paas.AddonBackup{}, fmt.Errorf("making the backup directory: %w", err)
		}
	}
	id := s.newBackupID(a.Name)
	f, err := os.CreateTemp(dir, backupTmp+id+"-*")
	if err != nil {
		return paas.AddonBackup{}, fmt.Errorf("storing a backup: %w", err)
	}
	tmp := f.Name()
	kept := false
	defer func() {
		if !kept {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := s.cfg.Addons.Backup(ctx, a.Name, f); err != nil {
		return paas.AddonBackup{}, fmt.Errorf("backing up add-on %s: %w", a.Name, maskAll(err, a.Passwords()))
	}
	if err := f.Sync(); err != nil {
		return paas.AddonBackup{}, fmt.Errorf("storing a backup: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		return paas.AddonBackup{}, fmt.Errorf("storing a backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return paas.AddonBackup{}, fmt.Errorf("storing a backup: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, id+backupExt)); err != nil {
		return paas.AddonBackup{}, fmt.Errorf("storing a backup: %w", err)
	}
	kept = true
	syncDir(dir)
	t, _, _ := parseBackupID(id)
	b := paas.AddonBackup{ID: id, Time: t, Size: info.Size()}
	s.pruneBackups(a.Name)
	return b, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// pruneBackups removes name's oldest backups beyond KeepBackups.
func (s *Service) pruneBackups(name string) {
	list, err := s.backups(name)
	if err != nil {
		s.log.Error("listing backups to prune", "addon", name, "err", err)
		return
	}
	for len(list) > s.cfg.KeepBackups {
		if err := os.Remove(filepath.Join(s.backupDir(name), list[0].ID+backupExt)); err != nil {
			s.log.Error("pruning a backup", "addon", name, "backup", list[0].ID, "err", err)
		}
		list = list[1:]
	}
}

// removeBackups removes every backup of name.
func (s *Service) removeBackups(name string) error {
	if s.cfg.BackupDir == "" {
		return nil
	}
	if err := os.RemoveAll(s.backupDir(name)); err != nil {
		return fmt.Errorf("removing the backups of add-on %s: %w", name, err)
	}
	return nil
}

// AddonBackups lists add-on name's stored backups, oldest first.
func (s *Service) AddonBackups(ctx context.Context, name string) ([]paas.AddonBackup, error) {
	if _, err := s.addonRecord(name); err != nil {
		return nil, err
	}
	return s.backups(name)
}

// CaptureAddonBackup stores a backup of add-on name now, keeping the
// newest KeepBackups.
func (s *Service) CaptureAddonBackup(ctx context.Context, name, by string) (paas.AddonBackup, error) {
	if _, err := s.addonRecord(name); err != nil {
		return paas.AddonBackup{}, err
	}
	if err := s.backupsOn(); err != nil {
		return paas.AddonBackup{}, err
	}
	unlock, err := s.addonLock(ctx, name)
	if err != nil {
		return paas.AddonBackup{}, err
	}
	defer unlock()
	a, err := s.addonRecord(name)
	if err != nil {
		return paas.AddonBackup{}, err
	}
	b, err := s.capture(ctx, a)
	if err != nil {
		return paas.AddonBackup{}, err
	}
	s.log.Info("add-on backup stored", "addon", name, "backup", b.ID, "bytes", b.Size, "by", by)
	return b, nil
}

// BackupAddon writes a dump of add-on name to w: a new one, or the stored
// backup from when from is set.
func (s *Service) BackupAddon(ctx context.Context, name, from string, w io.Writer) error {
	a, err := s.addonRecord(name)
	if err != nil {
		return err
	}
	if from == "" {
		if err := s.cfg.Addons.Backup(ctx, name, w); err != nil {
			return fmt.Errorf("backing up add-on %s: %w", name, maskAll(err, a.Passwords()))
		}
		return nil
	}
	if _, _, err := paas.ParseBackupID(from); err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(s.backupDir(name), from+backupExt))
	if errors.Is(err, fs.ErrNotExist) || s.cfg.BackupDir == "" {
		return paas.Errorf("%s has no backup %s; addons:backups %s lists them", name, from, name)
	}
	if err != nil {
		return fmt.Errorf("opening a backup: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("sending backup %s: %w", from, err)
	}
	return nil
}

// addonRecord returns the record of add-on name, checking that add-ons
// run here and that the name is one.
func (s *Service) addonRecord(name string) (store.Addon, error) {
	if err := s.addonsOn(); err != nil {
		return store.Addon{}, err
	}
	if err := validateAddonName(name); err != nil {
		return store.Addon{}, err
	}
	a, err := s.cfg.Store.Addon(name)
	if err != nil {
		return store.Addon{}, addonError(name, "", err)
	}
	return a, nil
}

// startBackups starts the scheduler of automatic backups, when the
// server stores backups: at once and then every BackupCheck, each add-on
// whose newest backup is a day old (or that has none) gets a new one.
// Backups an interrupted paasd was writing are removed first.
func (s *Service) startBackups() {
	if s.cfg.Addons == nil || s.cfg.BackupDir == "" || s.cfg.KeepBackups <= 0 {
		return
	}
	s.removePartialBackups()
	every := s.cfg.BackupCheck
	if every <= 0 {
		every = time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.mu.Lock()
	s.stopBackups = func() {
		cancel()
		<-done
	}
	s.backupsDone = done
	s.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.backupDue(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// removePartialBackups removes the temporary files of backups that were
// being written when paasd stopped.
func (s *Service) removePartialBackups() {
	dirs, err := os.ReadDir(s.cfg.BackupDir)
	if err != nil {
		return
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.cfg.BackupDir, d.Name()))
		if err != nil {
			continue
		}
		for _, f := range files {
			if strings.HasPrefix(f.Name(), backupTmp) {
				os.Remove(filepath.Join(s.cfg.BackupDir, d.Name(), f.Name()))
			}
		}
	}
}

// backupDue takes one backup of each add-on whose newest is a day old.
// An add-on being changed is skipped until the next check.
func (s *Service) backupDue(ctx context.Context) {
	all, err := s.cfg.Store.Addons()
	if err != nil {
		s.log.Error("listing add-ons to back up", "err", err)
		return
	}
	for _, a := range all {
		if ctx.Err() != nil {
			return
		}
		list, err := s.backups(a.Name)
		if err != nil {
			s.log.Error("listing backups", "addon", a.Name, "err", err)
			continue
		}
		if n := len(list); n > 0 && s.now().Sub(list[n-1].Time) < backupEvery {
			continue
		}
		unlock, ok := s.tryAddonLock(a.Name)
		if !ok {
			continue
		}
		a, err := s.cfg.Store.Addon(a.Name)
		if err != nil {
			unlock() // destroyed meanwhile
			continue
		}
		b, err := s.capture(ctx, a)
		unlock()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("automatic add-on backup failed", "addon", a.Name, "err", err)
			for app := range a.Attachments {
				s.event(app, "Automatic backup of add-on %s failed: %s", a.Name, reasonOf(err))
			}
			continue
		}
		s.log.Info("automatic add-on backup stored", "addon", a.Name, "backup", b.ID, "bytes", b.Size)
	}
}
