package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strings"
)

// defaultRemote is the git remote the client reads the app and server
// from, and the one apps:create adds.
const defaultRemote = "paas"

// errNotRepo is what Env.GitAddRemote returns outside a git repository.
var errNotRepo = errors.New("not in a git repository")

// remoteURL is the git remote of app on the server t names:
// ssh://USER@HOST[:PORT]/APP.git.
func remoteURL(t target, app string) string {
	host := t.Host
	if t.Port != "" {
		host = net.JoinHostPort(t.Host, t.Port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u := url.URL{Scheme: "ssh", User: url.User(t.User), Host: host, Path: "/" + app + ".git"}
	return u.String()
}

// createApp runs apps:create and then, as `heroku create` does, adds the
// git remote (remote, default paas) for the new app when the current
// directory is in a git repository that has none by that name. It
// always prints the remote's URL.
func createApp(env Env, t target, remote string, args []string) int {
	argv, err := sshArgv(env, t, append([]string{"apps:create"}, args...), false)
	if err != nil {
		fmt.Fprintf(env.Stderr, "paas: %v\n", err)
		return 1
	}
	env.Exec = nil // the remote is added once ssh is done
	if st := runSSH(env, argv); st != 0 || len(args) != 1 {
		return st
	}
	if remote == "" {
		remote = defaultRemote
	}
	u := remoteURL(t, args[0])
	if env.GitRemote != nil {
		if old := env.GitRemote(remote); old != "" {
			fmt.Fprintf(env.Stdout, "Git remote %s already exists (%s): left as it is; %s's is %s\n", remote, old, args[0], u)
			return 0
		}
	}
	if env.GitAddRemote == nil {
		fmt.Fprintf(env.Stdout, "Git remote: %s\n", u)
		return 0
	}
	switch err := env.GitAddRemote(remote, u); {
	case errors.Is(err, errNotRepo):
		fmt.Fprintf(env.Stdout, "Git remote: %s (not in a git repository: git remote add %s %s)\n", u, remote, u)
	case err != nil:
		fmt.Fprintf(env.Stderr, "paas: adding git remote %s: %v\n", remote, err)
		return 1
	default:
		fmt.Fprintf(env.Stdout, "Git remote %s added: %s\n", remote, u)
	}
	return 0
}

// openApp prints the app's URL, read from apps:info's "url:" line, and
// opens it in a browser when there is one to show it: stdout is a
// terminal and $DISPLAY, $WAYLAND_DISPLAY or $BROWSER is set.
func openApp(env Env, t target) int {
	out, st := captureSSH(env, t, []string{"apps:info", t.App, "--json"})
	if st != 0 {
		return st
	}
	var info struct {
		URL *string `json:"url"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		fmt.Fprintf(env.Stderr, "paas: reading apps:info --json: %v\n", err)
		return 1
	}
	appURL := ""
	if info.URL != nil {
		appURL = *info.URL
	}
	u, err := url.Parse(appURL)
	if appURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		fmt.Fprintf(env.Stderr, "paas: the server names no URL for %s\n", t.App)
		return 1
	}
	showURL(env, appURL)
	return 0
}

// showURL prints u, and opens it in a browser when stdout is a terminal
// and there is a display or a $BROWSER to open it with.
func showURL(env Env, u string) {
	fmt.Fprintln(env.Stdout, u)
	graphical := env.Getenv("DISPLAY") != "" || env.Getenv("WAYLAND_DISPLAY") != "" || env.Getenv("BROWSER") != ""
	if env.StdoutIsTerminal && graphical && env.OpenURL != nil {
		if err := env.OpenURL(u); err != nil {
			fmt.Fprintf(env.Stderr, "paas: opening a browser: %v\n", err)
		}
	}
}

// openURL opens u with $BROWSER (its first entry, a program), else
// xdg-open, else sensible-browser.
func openURL(getenv func(string) string, u string) error {
	var progs []string
	if b, _, _ := strings.Cut(getenv("BROWSER"), ":"); b != "" {
		progs = append(progs, b)
	}
	progs = append(progs, "xdg-open", "sensible-browser")
	for _, p := range progs {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		return exec.Command(path, u).Run()
	}
	return errors.New("no browser found: set BROWSER")
}
