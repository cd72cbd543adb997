package router

import (
	"net/http"
	"strconv"
)

// maintenanceRetry is the Retry-After of the maintenance page, in seconds.
const maintenanceRetry = 60

// SetMaintenance turns the app's maintenance mode on or off. While on, the
// app's host answers 503 with a maintenance page and Retry-After, and no
// request reaches its instances; the instances themselves are untouched.
// The mode is app state: Set keeps it, Remove forgets it. Turning it on
// for an app the router does not know yet makes the app known, with no
// backend (its requests get 503 once the mode ends, as after Set with no
// backend); turning it off for an unknown app changes nothing.
func (r *Router) SetMaintenance(app string, on bool) {
	r.update(app, func(old *route) *route {
		if old == nil && !on {
			return nil
		}
		rt := old.clone()
		rt.maintenance = on
		return rt
	})
}

// serveMaintenance answers a request to an app in maintenance mode.
func (r *Router) serveMaintenance(st *reqState, rw *responseWriter, req *http.Request) {
	st.code, st.desc = "H80", "Maintenance mode"
	rw.Header().Set("X-Request-Id", st.id)
	rw.Header().Set("Retry-After", strconv.Itoa(maintenanceRetry))
	writePage(rw, http.StatusServiceUnavailable, "Under maintenance",
		"This app is down for maintenance and will be back shortly.", st.id)
	r.logAccess(st, req, rw)
}
