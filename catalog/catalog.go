// Package catalog is the user-facing grammar of every paas command: the
// one table the client (help, usage lines, where the app goes) and the
// server (usage errors, help, suggestions) both read.
package catalog

import (
	"strings"
)

// AppArg is how a command takes the app it acts on.
type AppArg int

const (
	// NoApp: the command acts on no app, or names it as an ordinary
	// operand (apps, keys, addons:info NAME, apps:create APP).
	NoApp AppArg = iota
	// AppFirst: over SSH the app is the first operand ("config:set APP
	// KEY=VALUE"); the client takes it from -a/--app, the git remote
	// (-r/--remote, default paas) or PAAS_APP.
	AppFirst
	// AppSecond: over SSH the app follows a first operand ("addons:attach
	// NAME APP"); the client adds it when only NAME is given.
	AppSecond
	// AppOptional: over SSH the app is an optional first operand
	// ("addons [APP]"); the client adds it when one is known, unless
	// --all is given.
	AppOptional
)

// Flag is one flag a command takes, for its help.
type Flag struct {
	Name  string // "--shell", or alternatives "-t|--tail"
	Value string // the value's placeholder ("N"), "" for a flag without one
	Help  string
}

// Names returns the flag's spellings: "-t|--tail" is -t and --tail.
func (f Flag) Names() []string { return strings.Split(f.Name, "|") }

// Command is one command's grammar.
type Command struct {
	Name  string // "config:set"
	Topic string // one of Topics()
	App   AppArg
	// Args is what follows the command in the client's grammar, without
	// the app: "KEY=VALUE...".
	Args string
	// SSHArgs, when set, is what follows the app (or the first operand,
	// for AppSecond) over SSH, where it differs from Args: the client
	// reads certs:add's files, the server reads them on stdin.
	SSHArgs string
	Flags   []Flag
	Summary string // one line, lower case, no final period
	Example string // "paas config:set DEBUG=1 -a myapp"
	// Attached commands get a terminal when the client's stdin is one.
	Attached bool
	// Rest: the operands after the first are passed on untouched (run's
	// command line), so the client's own flags go before them.
	Rest bool
	// Local commands are the client's own: the server has no such command.
	Local bool
}

// The topics in the order help lists them.
var topics = []string{"apps", "config", "ps", "releases", "builds", "logs", "domains", "certs", "addons", "access", "keys", "nodes", "git", "help"}

// Topics returns the topics in the order help lists them.
func Topics() []string { return append([]string(nil), topics...) }

var (
	noWait = Flag{"--no-wait", "", "fail at once if another change of the app is under way"}
	asJSON = Flag{"--json", "", "print JSON"}
)

var commands = []Command{
	{Name: "apps", Topic: "apps", Flags: []Flag{asJSON},
		Summary: "list apps", Example: "paas apps"},
	{Name: "apps:create", Topic: "apps", Args: "APP",
		Summary: "create an app (and a git remote paas in a repo)", Example: "paas apps:create myapp"},
	{Name: "apps:info", Topic: "apps", App: AppFirst, Flags: []Flag{asJSON},
		Summary: "show an app", Example: "paas apps:info -a myapp"},
	{Name: "builder", Topic: "apps", App: AppFirst,
		Summary: "show how the app is built: dockerfile or buildpacks", Example: "paas builder -a myapp"},
	{Name: "builder:set", Topic: "apps", App: AppFirst, Args: "dockerfile|buildpacks|auto",
		Summary: "build from the Dockerfile, with buildpacks, or choose", Example: "paas builder:set dockerfile -a myapp"},
	{Name: "apps:rename", Topic: "apps", App: AppFirst, Args: "NEW",
		Summary: "rename an app; its repo, releases and logs follow", Example: "paas apps:rename new-name -a myapp"},
	{Name: "apps:destroy", Topic: "apps", App: AppFirst, Args: "--confirm APP",
		Flags:   []Flag{{"--confirm", "APP", "the app's name again: destroying cannot be undone"}},
		Summary: "destroy an app, its releases and its repository", Example: "paas apps:destroy -a myapp --confirm myapp"},
	{Name: "apps:transfer", Topic: "apps", App: AppFirst, Args: "USER",
		Summary: "make USER the app's owner", Example: "paas apps:transfer carol -a myapp"},
	{Name: "open", Topic: "apps", App: AppFirst, Local: true,
		Summary: "print the app's URL, open it in a browser", Example: "paas open -a myapp"},
	{Name: "maintenance:on", Topic: "apps", App: AppFirst,
		Summary: "answer every request with a maintenance page", Example: "paas maintenance:on -a myapp"},
	{Name: "maintenance:off", Topic: "apps", App: AppFirst,
		Summary: "serve the app again", Example: "paas maintenance:off -a myapp"},

	{Name: "config", Topic: "config", App: AppFirst, Args: "[--shell]",
		Flags:   []Flag{{"--shell", "", "print export lines, for eval or a .env file"}, asJSON},
		Summary: "show config vars", Example: "paas config -a myapp"},
	{Name: "config:get", Topic: "config", App: AppFirst, Args: "KEY",
		Summary: "print one config var's value", Example: "paas config:get DATABASE_URL -a myapp"},
	{Name: "config:set", Topic: "config", App: AppFirst, Args: "KEY=VALUE... | --file .env", SSHArgs: "KEY=VALUE... | < .env",
		Flags:   []Flag{{"--file", "FILE", "set the vars of a .env file (or pipe one in)"}, noWait},
		Summary: "set config vars, or a .env file's (one new release)", Example: "paas config:set --file .env -a myapp"},
	{Name: "config:unset", Topic: "config", App: AppFirst, Args: "KEY...", Flags: []Flag{noWait},
		Summary: "remove config vars (a new release)", Example: "paas config:unset DEBUG -a myapp"},

	{Name: "ps", Topic: "ps", App: AppFirst, Flags: []Flag{asJSON},
		Summary: "list processes", Example: "paas ps -a myapp"},
	{Name: "metrics", Topic: "ps", App: AppFirst, Flags: []Flag{{"--since", "DURATION", "a row a minute over the last DURATION (1m to 24h; 1h)"}, asJSON},
		Summary: "show requests, errors, latency, CPU, memory", Example: "paas metrics -a myapp"},
	{Name: "ps:scale", Topic: "ps", App: AppFirst, Args: "TYPE=N...", Flags: []Flag{noWait},
		Summary: "set process counts (0 to 100)", Example: "paas ps:scale web=2 worker=1 -a myapp"},
	{Name: "ps:restart", Topic: "ps", App: AppFirst, Args: "[TYPE|TYPE.N]", Flags: []Flag{noWait},
		Summary: "replace instances one at a time", Example: "paas ps:restart web -a myapp"},
	{Name: "ps:stop", Topic: "ps", App: AppFirst, Args: "TYPE", Flags: []Flag{noWait},
		Summary: "scale a process type to 0, keeping its count", Example: "paas ps:stop worker -a myapp"},
	{Name: "ps:start", Topic: "ps", App: AppFirst, Args: "TYPE", Flags: []Flag{noWait},
		Summary: "start a stopped process type again", Example: "paas ps:start worker -a myapp"},
	{Name: "ps:set", Topic: "ps", App: AppFirst, Args: "TYPE [memory=SIZE] [cpus=N] | stop-timeout=SECONDS", Flags: []Flag{noWait},
		Summary: "set a type's limits (0 clears), or the stop timeout", Example: "paas ps:set web memory=512m cpus=0.5 -a myapp"},
	{Name: "run", Topic: "ps", App: AppFirst, Args: "[-d|--detach] [--] CMD [ARGS...]", Attached: true, Rest: true,
		Flags:   []Flag{{"-d|--detach", "", "run in the background; its output goes to the logs as run.N"}},
		Summary: "run a one-off process attached to your terminal", Example: "paas run -a myapp -- python3 manage.py migrate"},

	{Name: "builds", Topic: "builds", App: AppFirst, Flags: []Flag{asJSON},
		Summary: "list builds, newest first: status, duration, commit", Example: "paas builds -a myapp"},

	{Name: "releases", Topic: "releases", App: AppFirst, Flags: []Flag{asJSON},
		Summary: "list releases, newest first", Example: "paas releases -a myapp"},
	{Name: "releases:info", Topic: "releases", App: AppFirst, Args: "vN [--values]",
		Flags:   []Flag{{"--values", "", "show the config values, not only the keys"}, asJSON},
		Summary: "show a release", Example: "paas releases:info v3 -a myapp"},
	{Name: "rollback", Topic: "releases", App: AppFirst, Args: "[vN] [--force]",
		Flags:   []Flag{{"--force", "", "roll back to a release that failed or never went live"}, noWait},
		Summary: "run vN again (default: the previous release)", Example: "paas rollback v3 -a myapp"},

	{Name: "logs", Topic: "logs", App: AppFirst, Args: "[-n N] [-t|--tail] [--ps TYPE|TYPE.N] [--source app|paas] [--since 10m|TIME] [--json]",
		Flags: []Flag{
			{"-n|--num", "N", "the last N lines (default 100, all with --since)"},
			{"-t|--tail", "", "keep following the stream"},
			{"--ps|-d|--dyno", "TYPE|TYPE.N", "only this process type or instance"},
			{"--source", "app|paas", "only the app's lines, or only the platform's"},
			{"--since", "10m|TIME", "lines since a duration ago or an RFC 3339 time"},
			asJSON,
		},
		Summary: "show recent logs, -t to follow", Example: "paas logs -t --ps web -a myapp"},
	{Name: "drains", Topic: "logs", App: AppFirst, Flags: []Flag{asJSON},
		Summary: "list log drains, their state and lost lines", Example: "paas drains -a myapp"},
	{Name: "drains:add", Topic: "logs", App: AppFirst, Args: "URL",
		Summary: "send logs to syslog[+tls]://HOST:PORT or https://", Example: "paas drains:add syslog+tls://logs.example.com:6514 -a myapp"},
	{Name: "drains:remove", Topic: "logs", App: AppFirst, Args: "URL|N",
		Summary: "stop a drain, named by URL or number", Example: "paas drains:remove 1 -a myapp"},

	{Name: "domains", Topic: "domains", App: AppFirst, Flags: []Flag{asJSON},
		Summary: "list the app's hosts", Example: "paas domains -a myapp"},
	{Name: "domains:add", Topic: "domains", App: AppFirst, Args: "HOST",
		Summary: "route HOST (or *.example.com) to the app", Example: "paas domains:add www.example.com -a myapp"},
	{Name: "domains:remove", Topic: "domains", App: AppFirst, Args: "HOST",
		Summary: "stop routing HOST to the app", Example: "paas domains:remove www.example.com -a myapp"},
	{Name: "proxy", Topic: "domains", App: AppFirst,
		Summary: "show the app's router settings", Example: "paas proxy -a myapp"},
	{Name: "proxy:set", Topic: "domains", App: AppFirst, Args: "KEY=VALUE...",
		Summary: "change router settings (https-redirect, hsts...)", Example: "paas proxy:set https-redirect=on -a myapp"},

	{Name: "certs", Topic: "certs", App: AppFirst, Flags: []Flag{asJSON},
		Summary: "list hosts and their certificates", Example: "paas certs -a myapp"},
	{Name: "certs:add", Topic: "certs", App: AppFirst, Args: "CERT_FILE KEY_FILE", SSHArgs: "< CHAIN_AND_KEY.pem",
		Summary: "use your own certificate (PEM chain, key)", Example: "paas certs:add chain.pem key.pem -a myapp"},
	{Name: "certs:remove", Topic: "certs", App: AppFirst, Args: "HOST",
		Summary: "remove your own certificate for HOST", Example: "paas certs:remove www.example.com -a myapp"},

	{Name: "addons", Topic: "addons", App: AppOptional, Args: "[--all]",
		Flags:   []Flag{{"--all", "", "every add-on you may see, not the app's"}, asJSON},
		Summary: "list add-ons (the app's, or --all)", Example: "paas addons -a myapp"},
	{Name: "addons:create", Topic: "addons", App: AppFirst, Args: "postgres|redis [--name NAME] [--as VAR]",
		Flags: []Flag{
			{"--name", "NAME", "the add-on's name"},
			{"--as", "VAR", "attach as VAR_URL, not DATABASE_URL/REDIS_URL"}, noWait,
		},
		Summary: "create a postgres or redis and attach it", Example: "paas addons:create postgres -a myapp"},
	{Name: "addons:info", Topic: "addons", Args: "NAME", Flags: []Flag{asJSON},
		Summary: "show an add-on", Example: "paas addons:info myapp-db"},
	{Name: "addons:attach", Topic: "addons", App: AppSecond, Args: "NAME [--as VAR]",
		Flags:   []Flag{{"--as", "VAR", "the variable's name: VAR_URL"}, noWait},
		Summary: "attach an add-on to the app (a new release)", Example: "paas addons:attach myapp-db -a other"},
	{Name: "addons:detach", Topic: "addons", App: AppSecond, Args: "NAME", Flags: []Flag{noWait},
		Summary: "detach an add-on from the app (a new release)", Example: "paas addons:detach myapp-db -a other"},
	{Name: "addons:destroy", Topic: "addons", Args: "NAME --confirm NAME [--detach]",
		Flags: []Flag{
			{"--confirm", "NAME", "the add-on's name again"},
			{"--detach", "", "detach it from its apps first"}, noWait,
		},
		Summary: "destroy an add-on, its data and backups", Example: "paas addons:destroy myapp-db --confirm myapp-db"},
	{Name: "addons:connect", Topic: "addons", Args: "NAME", Attached: true,
		Summary: "open psql or redis-cli on an add-on", Example: "paas addons:connect myapp-db"},
	{Name: "addons:backup", Topic: "addons", Args: "NAME [--from ID] > FILE",
		Flags:   []Flag{{"--from", "ID", "a stored backup, not a new dump"}},
		Summary: "write a dump to stdout", Example: "paas addons:backup myapp-db > db.dump"},
	{Name: "addons:restore", Topic: "addons", Args: "NAME < FILE", Flags: []Flag{noWait},
		Summary: "replace an add-on's data with the dump on stdin", Example: "paas addons:restore myapp-db < db.dump"},
	{Name: "addons:backups", Topic: "addons", Args: "NAME", Flags: []Flag{asJSON},
		Summary: "list an add-on's stored backups", Example: "paas addons:backups myapp-db"},
	{Name: "addons:backups:capture", Topic: "addons", Args: "NAME", Flags: []Flag{noWait},
		Summary: "store a backup of an add-on now", Example: "paas addons:backups:capture myapp-db"},
	{Name: "addons:rotate", Topic: "addons", Args: "NAME", Flags: []Flag{noWait},
		Summary: "new credentials for an add-on and its apps", Example: "paas addons:rotate myapp-db"},

	{Name: "access", Topic: "access", App: AppFirst, Flags: []Flag{asJSON},
		Summary: "list the app's owner and collaborators", Example: "paas access -a myapp"},
	{Name: "access:add", Topic: "access", App: AppFirst, Args: "USER",
		Summary: "let USER deploy, configure and run the app", Example: "paas access:add bob -a myapp"},
	{Name: "access:remove", Topic: "access", App: AppFirst, Args: "USER",
		Summary: "take USER's access to the app away", Example: "paas access:remove bob -a myapp"},
	{Name: "audit", Topic: "access", Args: "[-n N] [--json]",
		Flags:   []Flag{{"-n", "N", "the newest N entries (100 by default)"}, asJSON},
		Summary: "show the server's audit log (admins)", Example: "paas audit -n 20"},

	{Name: "keys", Topic: "keys", Flags: []Flag{asJSON},
		Summary: "list SSH keys (an admin sees everyone's)", Example: "paas keys"},
	{Name: "keys:add", Topic: "keys", Args: "USER [--admin] [KEY_FILE]", SSHArgs: "USER [--admin] < KEY.pub",
		Flags:   []Flag{{"--admin", "", "the user is an admin"}},
		Summary: "add a public key to USER (admins)", Example: "paas keys:add alice ~/alice.pub"},
	{Name: "keys:remove", Topic: "keys", Args: "USER [FINGERPRINT]",
		Summary: "remove a key of USER, or USER (admins)", Example: "paas keys:remove alice SHA256:..."},
	{Name: "whoami", Topic: "keys", Flags: []Flag{asJSON},
		Summary: "show your user, role and key", Example: "paas whoami"},
	{Name: "dashboard:url", Topic: "keys",
		Summary: "print a one-time login URL for the dashboard", Example: "paas dashboard:url"},
	{Name: "dashboard", Topic: "keys", Local: true,
		Summary: "log in to the web dashboard in a browser", Example: "paas dashboard"},

	{Name: "nodes", Topic: "nodes", Args: "[--json]", Flags: []Flag{asJSON},
		Summary: "list the swarm's machines (admins)", Example: "paas nodes"},
	{Name: "nodes:add", Topic: "nodes", Args: "ADDRESS [--name NAME]",
		Flags:   []Flag{{"--name", "NAME", "the node's name (default: its host's)"}},
		Summary: "join an engine to the swarm (admins)", Example: "paas nodes:add ssh://root@node2.example.com"},
	{Name: "nodes:drain", Topic: "nodes", Args: "NAME",
		Summary: "move a node's tasks to other nodes (admins)", Example: "paas nodes:drain node2"},
	{Name: "nodes:activate", Topic: "nodes", Args: "NAME",
		Summary: "let a drained node take tasks again (admins)", Example: "paas nodes:activate node2"},
	{Name: "nodes:remove", Topic: "nodes", Args: "NAME",
		Summary: "drain a node and take it out of the swarm (admins)", Example: "paas nodes:remove node2"},

	{Name: "git:sync", Topic: "git", App: AppFirst, Args: "URL [REF] [--build]",
		Flags:   []Flag{{"--build", "", "accepted for Dokku users: git:sync always deploys"}, noWait},
		Summary: "deploy a commit fetched from a git URL",
		Example: "paas git:sync https://github.com/heroku/python-getting-started main -a myapp"},
	{Name: "git:from-archive", Topic: "git", App: AppFirst, Args: "[FILE]", SSHArgs: "< ARCHIVE", Flags: []Flag{noWait},
		Summary: "deploy a tar or tar.gz archive as a new commit",
		Example: "paas git:from-archive app.tar.gz -a myapp"},

	{Name: "help", Topic: "help", Args: "[COMMAND]",
		Summary: "list commands, or show one command's help", Example: "paas help config:set"},
	{Name: "version", Topic: "help",
		Summary: "show the server's version", Example: "paas version"},
}

// All returns every command, topic by topic.
func All() []Command { return append([]Command(nil), commands...) }

// Lookup returns the command called name.
func Lookup(name string) (Command, bool) {
	for _, c := range commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// ClientUsage is the command's usage line in the client's grammar:
// "paas config:set KEY=VALUE... [-a APP]".
func (c Command) ClientUsage() string {
	parts := []string{"paas", c.Name}
	takesApp := c.App != NoApp
	if takesApp && c.Rest {
		parts = append(parts, "[-a APP]")
	}
	if c.Args != "" {
		parts = append(parts, c.Args)
	}
	if takesApp && !c.Rest {
		parts = append(parts, "[-a APP]")
	}
	return strings.Join(parts, " ")
}

// SSHUsage is the command's usage line as the server takes it:
// "config:set APP KEY=VALUE...".
func (c Command) SSHUsage() string {
	args := c.Args
	if c.SSHArgs != "" || c.App == AppOptional {
		// An optional app's Args are the client's own flags (--all).
		args = c.SSHArgs
	}
	parts := []string{c.Name}
	switch c.App {
	case AppFirst:
		parts = append(parts, "APP")
	case AppOptional:
		parts = append(parts, "[APP]")
	case AppSecond:
		first, rest, _ := strings.Cut(args, " ")
		parts = append(parts, first, "APP")
		args = rest
	}
	if args != "" {
		parts = append(parts, args)
	}
	return strings.Join(parts, " ")
}

// TakesValue reports whether flag (as typed: "-n", "--as") is one of the
// command's flags that takes the next argument as its value.
func (c Command) TakesValue(flag string) bool {
	for _, f := range c.Flags {
		if f.Value == "" {
			continue
		}
		for _, n := range f.Names() {
			if n == flag {
				return true
			}
		}
	}
	return false
}
