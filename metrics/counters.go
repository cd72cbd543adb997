package metrics

// Counter names one of the platform's own counters.
type Counter int

// The platform's counters, each a total since paasd started.
const (
	Builds         Counter = iota // builds started
	Deploys                       // releases that went live
	DeployFailures                // builds and releases that failed
	Restarts                      // crashed instances restarted
	SSHSessions                   // SSH sessions of an authenticated key
	LogLines                      // lines added to the apps' logs
	DrainDrops                    // log lines a drain lost
	numCounters
)

// counterInfo is how Prometheus shows each counter.
var counterInfo = [numCounters]struct{ name, help string }{
	Builds:         {"paas_builds_total", "Builds started."},
	Deploys:        {"paas_deploys_total", "Releases that went live (deploys, config changes, rollbacks)."},
	DeployFailures: {"paas_deploy_failures_total", "Builds and releases that failed."},
	Restarts:       {"paas_restarts_total", "Crashed instances restarted."},
	SSHSessions:    {"paas_ssh_sessions_total", "SSH sessions of authenticated keys."},
	LogLines:       {"paas_log_lines_total", "Lines added to the apps' logs."},
	DrainDrops:     {"paas_drain_dropped_lines_total", "Log lines a drain lost: its buffer was full or its server refused them."},
}

// Add adds n to counter c.
func (r *Registry) Add(c Counter, n uint64) { r.counters[c].Add(n) }

// CountFrom makes counter c read f at scrape time, added to what Add
// counted: for a part that keeps its own total. Call it before serving.
func (r *Registry) CountFrom(c Counter, f func() uint64) { r.from[c] = f }

// Count returns counter c's total.
func (r *Registry) Count(c Counter) uint64 {
	n := r.counters[c].Load()
	if f := r.from[c]; f != nil {
		n += f()
	}
	return n
}
