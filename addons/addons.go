// Package addons runs an app's backing services (a Postgres database, a
// Redis store) as containers of the Docker engine, each reached by the
// apps it is attached to through a URL in their config.
package addons

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// The engines a service runs.
const (
	Postgres = "postgres" // DATABASE_URL, port 5432, user "app", database "app"
	Redis    = "redis"    // REDIS_URL, port 6379, user "default"
)

// Engines lists the engines, in the order help shows them.
func Engines() []string { return []string{Postgres, Redis} }

// DefaultVar is the config var an engine's URL is set in: "DATABASE_URL"
// for postgres, "REDIS_URL" for redis, "" for an unknown engine.
func DefaultVar(engine string) string {
	switch engine {
	case Postgres:
		return "DATABASE_URL"
	case Redis:
		return "REDIS_URL"
	}
	return ""
}

// URL is the URL an attached app reaches the service at: the host is the
// service's network alias, which is its name.
//
//	postgres://app:PASSWORD@NAME:5432/app
//	redis://default:PASSWORD@NAME:6379
//
// It is "" for an unknown engine.
func URL(engine, name, password string) string {
	switch engine {
	case Postgres:
		return fmt.Sprintf("postgres://app:%s@%s:5432/app", password, name)
	case Redis:
		return fmt.Sprintf("redis://default:%s@%s:6379", password, name)
	}
	return ""
}

// passwordLen is the length of NewPassword's passwords.
const passwordLen = 32

// NewPassword returns a random password of 32 URL-safe characters
// (letters, digits, '-' and '_'): it needs no escaping in a URL, a shell
// word or a SQL string.
func NewPassword() string {
	b := make([]byte, passwordLen*3/4)
	// crypto/rand.Read does not fail.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validPassword reports whether p is a password NewPassword could have
// made: services refuse others, as the password is written into their
// configuration.
func validPassword(p string) bool {
	if len(p) < 16 || len(p) > 128 {
		return false
	}
	for _, c := range p {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// Status is what the engine says of one service.
type Status struct {
	Name, Engine string
	Version      string // e.g. "15.10", "7.0.15"
	State        string // "starting", "up", "crashed", "stopped", "missing"
	DiskBytes    int64  // size of its data volume, -1 when unknown
}

// The states of a service.
const (
	StateStarting = "starting"
	StateUp       = "up"
	StateCrashed  = "crashed"
	StateStopped  = "stopped"
	StateMissing  = "missing"
)
