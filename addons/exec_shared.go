package addons

import (
	"strconv"
	"strings"
)

// This file holds the names of the provisioner contract that both
// runtimes share; the docker side defines the same ones, and one copy is
// kept when they meet.

// Service is where a new service is reached and who logs in first.
type Service struct {
	Version string // engine version, e.g. "15.10", "7.0.15"
	Host    string // docker: the service name (its network alias); exec: "127.0.0.1"
	Port    int    // docker: 5432 / 6379; exec: a free loopback port, stable for the service's life
	User    string // "app" (postgres), "default" (redis)
}

// NextUser is the user a rotation of engine's credentials makes after
// user: postgres "app" -> "app_2" -> "app_3" ...; redis always "default".
func NextUser(engine, user string) string {
	if engine == Redis {
		return "default"
	}
	if rest, ok := strings.CutPrefix(user, "app_"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 2 {
			return "app_" + strconv.Itoa(n+1)
		}
	}
	return "app_2"
}
