package gateway

import (
	"fmt"
	"time"

	"paas"
)

// DashboardTokens mints the web dashboard's login URLs.
type DashboardTokens interface {
	// LoginURL mints a single-use login token for user, bound to the key
	// with the given fingerprint, and returns the URL that spends it. A
	// server without a dashboard answers with a *paas.Error.
	LoginURL(user, fingerprint string) (string, error)
}

// cmdDashboardURL prints a login URL for the web dashboard: `dashboard:url`.
func cmdDashboardURL(s *Server, r *request, _ string, args []string) error {
	if len(args) != 0 {
		return usageError(lookupCommand("dashboard:url"))
	}
	if s.cfg.Dashboard == nil {
		return paas.Errorf("this server has no dashboard")
	}
	if r.key == "" {
		return paas.Errorf("dashboard:url needs a session authenticated with a key")
	}
	u, err := s.cfg.Dashboard.LoginURL(r.user.name, r.key)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(r.stdout, u)
	return err
}

// KeyExpired reports whether a key's authorized_keys options (expiry-time=)
// no longer let it log in at now; options paasd cannot read count as
// expired. The dashboard asks it for the key behind each session.
func KeyExpired(options []string, now time.Time) bool {
	r, err := parseKeyOptions(options)
	return err != nil || (!r.expires.IsZero() && now.After(r.expires))
}
