package deploy

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"paas"
	"paas/runtime"
)

// fakeClock is a settable clock for the backup scheduler.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// withBackups stores backups under a temporary directory, keeping keep.
func withBackups(h *harness, keep int) (*fakeClock, string) {
	clock := &fakeClock{t: time.Date(2026, 12, 6, 5, 12, 0, 0, time.UTC)}
	dir := filepath.Join(h.t.TempDir(), "backups")
	h.svc.cfg.BackupDir, h.svc.cfg.KeepBackups, h.svc.cfg.Now = dir, keep, clock.Now
	return clock, dir
}

func backupIDs(list []paas.AddonBackup) []string {
	var ids []string
	for _, b := range list {
		ids = append(ids, b.ID)
	}
	return ids
}

// TestAddonBackups captures, lists, prunes, downloads and removes stored
// backups, with the modes and IDs the contract gives, and refuses bad
// IDs and missing add-ons with one line.
func TestAddonBackups(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	f := withAddons(h)
	clock, dir := withBackups(h, 2)
	ctx := context.Background()
	if _, err := h.svc.EnsureApp(ctx, "bka", "tester"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.CreateAddon(ctx, "bka", "postgres", "bkdb", "", "alice", io.Discard); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.services["bkdb"].data = "row 1\n"
	f.mu.Unlock()

	b1, err := h.svc.CaptureAddonBackup(ctx, "bkdb", "alice")
	if err != nil || b1.ID != "20261206T051200Z" || b1.Size != int64(len("DUMP postgres\nrow 1\n")) || !b1.Time.Equal(clock.Now()) {
		t.Fatalf("capture: %+v %v", b1, err)
	}
	// A second one in the same second gets the next number.
	b2, err := h.svc.CaptureAddonBackup(ctx, "bkdb", "alice")
	if err != nil || b2.ID != "20261206T051200Z-2" {
		t.Fatalf("second capture: %+v %v", b2, err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "bkdb"): 0o700, filepath.Join(dir, "bkdb", b1.ID+".dump"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %v", path, fi.Mode(), err, want)
		}
	}
	// A third, a day later, prunes the oldest.
	clock.add(25 * time.Hour)
	b3, err := h.svc.CaptureAddonBackup(ctx, "bkdb", "alice")
	if err != nil || b3.ID != "20261207T061200Z" {
		t.Fatalf("third capture: %+v %v", b3, err)
	}
	list, err := h.svc.AddonBackups(ctx, "bkdb")
	if err != nil || !slices.Equal(backupIDs(list), []string{b2.ID, b3.ID}) {
		t.Fatalf("backups after pruning: %v %v", backupIDs(list), err)
	}

	// A failed backup leaves no file, temporary or not.
	f.failBackup = true
	_, err = h.svc.CaptureAddonBackup(ctx, "bkdb", "alice")
	f.failBackup = false
	if err == nil {
		t.Fatal("a failing backup succeeded")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "bkdb")); len(ents) != 2 {
		t.Fatalf("files after a failed backup: %v", ents)
	}

	// Download a stored one, and a new one.
	var out bytes.Buffer
	if err := h.svc.BackupAddon(ctx, "bkdb", b3.ID, &out); err != nil || out.String() != "DUMP postgres\nrow 1\n" {
		t.Fatalf("backup --from: %q %v", out.String(), err)
	}
	f.mu.Lock()
	f.services["bkdb"].data = "row 2\n"
	f.mu.Unlock()
	out.Reset()
	if err := h.svc.BackupAddon(ctx, "bkdb", "", &out); err != nil || out.String() != "DUMP postgres\nrow 2\n" {
		t.Fatalf("backup: %q %v", out.String(), err)
	}

	// Bad input: one line, nothing read or written.
	os.WriteFile(filepath.Join(dir, "secret.dump"), []byte("x"), 0o600)
	for _, c := range []struct{ name, from, want string }{
		{"bkdb", "../secret", `invalid backup id "../secret": use an id addons:backups lists, like 20261206T051200Z`},
		{"bkdb", "20261206T051200Z/../../secret", `invalid backup id "20261206T051200Z/../../secret"`},
		{"bkdb", "20261206T051200Z-0", `invalid backup id "20261206T051200Z-0"`},
		{"bkdb", "20261399T051200Z", `invalid backup id "20261399T051200Z"`},
		{"bkdb", "20261206T051200Z", "bkdb has no backup 20261206T051200Z; addons:backups bkdb lists them"},
		{"nope", "", "add-on nope not found"},
		{"../x", "", `invalid add-on name "../x"`},
	} {
		out.Reset()
		err := h.svc.BackupAddon(ctx, c.name, c.from, &out)
		if msg, ok := paas.UserMessage(err); !ok || !strings.HasPrefix(msg, c.want) || strings.Contains(msg, "\n") || out.Len() != 0 {
			t.Errorf("backup %s --from %q: %v, wrote %q; want %q", c.name, c.from, err, out.String(), c.want)
		}
	}
	if _, err := h.svc.CaptureAddonBackup(ctx, "nope", "alice"); err == nil || err.Error() != "add-on nope not found" {
		t.Errorf("capture of a missing add-on: %v", err)
	}

	// addons:info lists them and the service's last lines, masked.
	f.mu.Lock()
	for i := range 12 {
		f.services["bkdb"].lines = append(f.services["bkdb"].lines, "line "+string(rune('a'+i)))
	}
	f.services["bkdb"].lines = append(f.services["bkdb"].lines, "FATAL: password authentication failed: pw01-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c")
	f.mu.Unlock()
	info, err := h.svc.AddonInfo(ctx, "bkdb")
	if err != nil || !slices.Equal(backupIDs(info.Backups), []string{b2.ID, b3.ID}) || len(info.Logs) != 10 || info.Logs[0] != "line d" || info.Logs[9] != "FATAL: password authentication failed: ***" {
		t.Fatalf("info: %+v %v", info, err)
	}

	// Off: no capture, the stored ones still listed.
	h.svc.cfg.KeepBackups = 0
	if _, err := h.svc.CaptureAddonBackup(ctx, "bkdb", "alice"); err == nil || !strings.HasPrefix(err.Error(), "this server stores no add-on backups") {
		t.Errorf("capture with backups off: %v", err)
	}
	h.svc.cfg.KeepBackups = 2

	// Destroy removes them.
	if err := h.svc.DestroyAddon(ctx, "bkdb", true, "alice", io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bkdb")); !os.IsNotExist(err) {
		t.Fatalf("backups after destroy: %v", err)
	}
}

// TestBackupScheduler: each pass backs up the add-ons whose newest backup
// is a day old; the scheduler starts with the service and stops at
// Shutdown, and removes what an interrupted backup left.
func TestBackupScheduler(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	f := withAddons(h)
	clock, dir := withBackups(h, 3)
	ctx := context.Background()
	if _, err := h.svc.EnsureApp(ctx, "bks", "tester"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bks-a", "bks-b"} {
		if _, _, err := h.svc.CreateAddon(ctx, "bks", "redis", name, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), "t", io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	count := func(name string) int {
		list, _ := h.svc.backups(name)
		return len(list)
	}
	h.svc.backupDue(ctx)
	if count("bks-a") != 1 || count("bks-b") != 1 {
		t.Fatalf("first pass: %d %d", count("bks-a"), count("bks-b"))
	}
	clock.add(23 * time.Hour)
	h.svc.backupDue(ctx)
	if count("bks-a") != 1 {
		t.Fatalf("a pass within a day took another: %d", count("bks-a"))
	}
	// A busy add-on is skipped until the next pass.
	unlock, _ := h.svc.tryAddonLock("bks-b")
	clock.add(2 * time.Hour)
	h.svc.backupDue(ctx)
	unlock()
	if count("bks-a") != 2 || count("bks-b") != 1 {
		t.Fatalf("a day later: %d %d", count("bks-a"), count("bks-b"))
	}
	// A failing backup is reported on the app's stream, nothing kept.
	f.failBackup = true
	clock.add(25 * time.Hour)
	h.svc.backupDue(ctx)
	f.failBackup = false
	if count("bks-a") != 2 || !strings.Contains(streamOf(h, "bks"), "Automatic backup of add-on bks-a failed: ") {
		t.Fatalf("after a failing pass: %d\n%s", count("bks-a"), streamOf(h, "bks"))
	}

	// Started by Start's last step and stopped by Shutdown.
	partial := filepath.Join(dir, "bks-a", ".tmp-20261206T051200Z-123")
	if err := os.WriteFile(partial, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.backedUp = make(chan string, 2)
	h.svc.cfg.BackupCheck = time.Hour
	h.svc.startBackups()
	got := []string{<-f.backedUp, <-f.backedUp}
	slices.Sort(got)
	if !slices.Equal(got, []string{"bks-a", "bks-b"}) {
		t.Fatalf("the scheduler backed up %v", got)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Fatalf("a partial backup was kept: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	h.svc.Shutdown(sctx)
	h.svc.mu.Lock()
	done := h.svc.backupsDone
	h.svc.mu.Unlock()
	select {
	case <-done:
	default:
		t.Fatal("Shutdown returned with the scheduler running")
	}
}

// TestAddonDataCommands: connect runs the engine's client with the
// current credential and returns its status; restore replaces the data or,
// refusing the dump, leaves it; service lines reach every attached app's
// stream as paas[addon.NAME], passwords masked.
func TestAddonDataCommands(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	withAddons(h)
	ctx := context.Background()
	for _, app := range []string{"dca", "dcb"} {
		if _, err := h.svc.EnsureApp(ctx, app, "tester"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := h.svc.CreateAddon(ctx, "dca", "postgres", "dcdb", "", "t", io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.AttachAddon(ctx, "dcdb", "dcb", "", "t", io.Discard); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code, err := h.svc.ConnectAddon(ctx, "dcdb", "alice", runtime.Stdio{Stdin: strings.NewReader("SELECT 1;"), Stdout: &out, Stderr: &errb})
	if err != nil || code != 0 || out.String() != "app ran \"SELECT 1;\" (tty false)\n" {
		t.Fatalf("connect: %d %v %q %q", code, err, out.String(), errb.String())
	}
	if _, err := h.svc.ConnectAddon(ctx, "nope", "alice", runtime.Stdio{}); err == nil || err.Error() != "add-on nope not found" {
		t.Fatalf("connect to a missing add-on: %v", err)
	}

	if err := h.svc.RestoreAddon(ctx, "dcdb", "alice", strings.NewReader("DUMP postgres\nrestored\n")); err != nil {
		t.Fatal(err)
	}
	err = h.svc.RestoreAddon(ctx, "dcdb", "alice", strings.NewReader("REDIS0011 garbage"))
	if msg, ok := paas.UserMessage(err); !ok || msg != "not a postgres dump: make one with addons:backup" {
		t.Fatalf("restoring the wrong dump: %v", err)
	}
	out.Reset()
	if err := h.svc.BackupAddon(ctx, "dcdb", "", &out); err != nil || out.String() != "DUMP postgres\nrestored\n" {
		t.Fatalf("data after a refused restore: %q %v", out.String(), err)
	}
	if s := streamOf(h, "dcb"); !strings.Contains(s, "Add-on dcdb restored from a dump by alice") {
		t.Fatalf("dcb's stream:\n%s", s)
	}

	h.svc.AddonLines("dcdb", [][]byte{[]byte("LOG: checkpoint starting"), []byte("FATAL: password pw01-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c refused")})
	h.svc.AddonLines("nope", [][]byte{[]byte("dropped")})
	for _, app := range []string{"dca", "dcb"} {
		s := streamOf(h, app)
		if !strings.Contains(s, " paas[addon.dcdb]: LOG: checkpoint starting\n") || !strings.Contains(s, " paas[addon.dcdb]: FATAL: password *** refused\n") || strings.Contains(s, "0a1b2c3d") || strings.Contains(s, "dropped") {
			t.Fatalf("%s's stream:\n%s", app, s)
		}
	}
}
