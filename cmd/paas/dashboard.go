package main

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
)

// openDashboard prints a dashboard login URL (from dashboard:url) and,
// when stdout is a terminal and a browser can show it, opens it there.
func openDashboard(env Env, t target) int {
	argv, err := sshArgv(env, t, []string{"dashboard:url"}, false)
	if err != nil {
		fmt.Fprintf(env.Stderr, "paas: %v\n", err)
		return 1
	}
	var out bytes.Buffer
	capture := env
	capture.Exec, capture.Stdout = nil, &out
	if st := runSSH(capture, argv); st != 0 {
		return st
	}
	loginURL := strings.TrimSpace(out.String())
	if u, err := url.Parse(loginURL); err != nil || u.Scheme != "https" || strings.ContainsAny(loginURL, " \n") {
		fmt.Fprintf(env.Stderr, "paas: the server sent no dashboard URL\n")
		return 1
	}
	showURL(env, loginURL)
	return 0
}
