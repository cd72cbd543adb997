package paas

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Addon is a backing service (a database) as users see it: what it runs,
// where it is attached and how it is doing. Its password is never part of
// it; URL, when set, has the password masked.
type Addon struct {
	Name    string
	Engine  string // "postgres", "redis"
	Version string // the engine's version, e.g. "15.10"
	// Attachments maps each attached app to the config var holding the
	// service's URL.
	Attachments map[string]string
	CreatedBy   string
	CreatedAt   time.Time
	// State is what the engine says: "starting", "up", "crashed",
	// "stopped", "missing"; "unknown" when it could not be asked.
	State string
	// DiskBytes is the size of the service's data, -1 when unknown.
	DiskBytes int64
	// URL is the URL attached apps reach the service at, the password
	// masked; set by addons:info only.
	URL string
	// Backups lists the stored backups, oldest first; Logs the service's
	// last output lines, passwords masked; Rotation says how an
	// unfinished credential rotation stands ("" when none is). Set by
	// addons:info only.
	Backups  []AddonBackup
	Logs     []string
	Rotation string
}

// AddonBackup is one stored backup of an add-on.
type AddonBackup struct {
	// ID names the backup: the UTC time it was taken, e.g.
	// "20261206T051200Z" (with "-2"... when several were taken in one
	// second), so IDs sort as the backups were taken.
	ID   string
	Time time.Time
	Size int64 // bytes
}

// ErrAddonsUnavailable is wrapped by the error add-on commands return on a
// server whose runtime runs no backing services.
var ErrAddonsUnavailable = errors.New("add-ons unavailable")

// BackupIDLayout is the time layout of a backup ID.
const BackupIDLayout = "20060102T150405Z"

// backupIDPattern is the whole grammar of a backup ID.
var backupIDPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z(-[1-9][0-9]{0,3})?$`)

// ParseBackupID reads a backup ID: the time it names and its number
// within that second (1 for the first). Anything but an ID the grammar
// allows is refused with one line: an ID names a file, so nothing else may
// reach the file system.
func ParseBackupID(id string) (time.Time, int, error) {
	bad := Errorf("invalid backup id %q: use an id addons:backups lists, like 20261206T051200Z", id)
	if !backupIDPattern.MatchString(id) {
		return time.Time{}, 0, bad
	}
	stamp, seq, hasSeq := strings.Cut(id, "-")
	t, err := time.Parse(BackupIDLayout, stamp)
	if err != nil {
		return time.Time{}, 0, bad
	}
	n := 1
	if hasSeq {
		n, _ = strconv.Atoi(seq)
	}
	return t, n, nil
}
