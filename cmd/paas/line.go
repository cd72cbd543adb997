package main

import (
	"fmt"
	"strings"

	"paas/catalog"
)

// line is a command line as the client reads it: its own flags, the
// command and what goes to the server.
type line struct {
	app    string // -a, --app
	remote string // -r, --remote
	help   bool   // -h, --help
	// version is --version before any command.
	version bool
	name    string   // the command, "" when none was given
	args    []string // the command's arguments, the client's flags taken out
}

// parseLine reads args Heroku's way: the client's flags (-a/--app APP,
// -r/--remote NAME, -h/--help) may come anywhere, before or after the
// command, as "-a APP" or "-a=APP". "--" ends them: it and what follows
// go to the server as they are. A command with a command line of its own
// (run) takes the client's flags only before that command line starts,
// so `paas run -a app ls -a` runs `ls -a`.
func parseLine(args []string) (line, error) {
	var l line
	var cmd catalog.Command
	known := false
	started := false // run's command line has begun
	for i := 0; i < len(args); i++ {
		a := args[i]
		if l.name != "" && (started || a == "--") {
			l.args = append(l.args, args[i:]...)
			break
		}
		flag, value, hasValue := strings.Cut(a, "=")
		switch flag {
		case "-a", "--app", "-r", "--remote":
			if !hasValue {
				if i+1 >= len(args) {
					return l, fmt.Errorf("%s needs a value", flag)
				}
				i++
				value = args[i]
			}
			if value == "" || strings.HasPrefix(value, "-") {
				return l, fmt.Errorf("%s needs a value, not %q", flag, value)
			}
			if flag == "-a" || flag == "--app" {
				l.app = value
			} else {
				l.remote = value
			}
			continue
		}
		switch {
		case a == "-h" || a == "--help":
			l.help = true
		case l.name == "" && a == "--version":
			l.version = true
		case l.name == "" && a == "--":
			if i+1 < len(args) {
				l.name, l.args = args[i+1], append(l.args, args[i+2:]...)
			}
			return l, nil
		case l.name == "" && strings.HasPrefix(a, "-"):
			return l, fmt.Errorf("unknown flag %s (the client's: -a APP, -r REMOTE, --help, --version)", a)
		case l.name == "":
			l.name = a
			cmd, known = catalog.Lookup(a)
		case known && cmd.TakesValue(a) && i+1 < len(args):
			// A flag's value is never read as one of the client's flags.
			l.args = append(l.args, a, args[i+1])
			i++
		default:
			l.args = append(l.args, a)
			if known && cmd.Rest && !strings.HasPrefix(a, "-") {
				started = true
			}
		}
	}
	return l, nil
}
