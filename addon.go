package paas

import (
	"errors"
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
}

// ErrAddonsUnavailable is wrapped by the error add-on commands return on a
// server whose runtime runs no backing services.
var ErrAddonsUnavailable = errors.New("add-ons unavailable")
