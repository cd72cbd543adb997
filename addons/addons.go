// Package addons runs an app's backing services (a Postgres database, a
// Redis store) as containers of the Docker engine, each reached by the
// apps it is attached to through a URL in their config.
package addons

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
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

// Service is where a new service is reached and who logs in first.
type Service struct {
	Version string // engine version, e.g. "15.10", "7.0.15"
	Host    string // the service's name: its network alias
	Port    int    // 5432 (postgres), 6379 (redis)
	User    string // "app" (postgres), "default" (redis)
}

// URL is the URL an app reaches the service at, logged in as user with
// password:
//
//	postgres://USER:PASSWORD@HOST:PORT/app
//	redis://USER:PASSWORD@HOST:PORT
//
// It is "" for an unknown engine.
func URL(engine, user, password, host string, port int) string {
	hp := net.JoinHostPort(host, strconv.Itoa(port))
	switch engine {
	case Postgres:
		return fmt.Sprintf("postgres://%s:%s@%s/app", user, password, hp)
	case Redis:
		return fmt.Sprintf("redis://%s:%s@%s", user, password, hp)
	}
	return ""
}

// NextUser is the user a service's next credential logs in as, after
// user: postgres "app" -> "app_2" -> "app_3" ...; redis has one user,
// "default".
func NextUser(engine, user string) string {
	if engine == Redis {
		return "default"
	}
	n := 1
	if rest, ok := strings.CutPrefix(user, "app_"); ok {
		if i, err := strconv.Atoi(rest); err == nil && i > 1 {
			n = i
		}
	}
	return "app_" + strconv.Itoa(n+1)
}

// pgUser matches the postgres users NextUser makes.
var pgUser = regexp.MustCompile(`^app(_[0-9]{1,9})?$`)

// validUser reports whether user is one of engine's users.
func validUser(engine, user string) bool {
	switch engine {
	case Postgres:
		return pgUser.MatchString(user)
	case Redis:
		return user == "default"
	}
	return false
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
