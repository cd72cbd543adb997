package main

import (
	"fmt"
	"net/url"
	"strings"
)

// openDashboard prints a dashboard login URL (from dashboard:url) and,
// when stdout is a terminal and a browser can show it, opens it there.
func openDashboard(env Env, t target) int {
	out, st := captureSSH(env, t, []string{"dashboard:url"})
	if st != 0 {
		return st
	}
	loginURL := strings.TrimSpace(string(out))
	if u, err := url.Parse(loginURL); err != nil || u.Scheme != "https" || strings.ContainsAny(loginURL, " \n") {
		fmt.Fprintf(env.Stderr, "paas: the server sent no dashboard URL\n")
		return 1
	}
	showURL(env, loginURL)
	return 0
}
