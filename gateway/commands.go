package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"paas"
	"paas/access"
	"paas/catalog"
	"paas/runtime"
	"paas/shellwords"
)

// request is one command of the grammar with the session it came on.
type request struct {
	ctx  context.Context
	by   string // the user's name
	user user
	key  string       // fingerprint of the key the session authenticated with
	conn *guardedConn // nil outside a real SSH session
	// closeConn is set by a command that removed the key conn
	// authenticated with: the session closes it after answering.
	closeConn bool
	live      *liveSession // the command as a live session on its app
	args      []string
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	tty       *ttyInfo // nil without a PTY
	// client is set when the paas client sent the command (its session
	// carries PAAS_CLIENT=1): usage lines are shown in its grammar.
	client bool
}

type ttyInfo struct {
	term   string
	window runtime.WindowSize
	resize <-chan runtime.WindowSize
}

// command is one verb of the grammar.
type command struct {
	name string
	// usage (the arguments after the name) and summary are the catalog's,
	// set by init; a value here counts only for a command it lacks.
	usage   string
	summary string
	// door is what the command acts on and the action it takes there,
	// checked (access.Decide) before it runs.
	door door
	// noWait marks commands that change an app: they take --no-wait, to
	// fail at once instead of waiting for another change of the app.
	noWait bool
	// run serves the command; nil for commands whose exit status is a
	// process's (see status).
	run func(s *Server, r *request, app string, args []string) error
	// status serves, instead of run, a command whose exit status is that
	// of the process it attaches to (run, addons:connect).
	status func(s *Server, r *request, c *command, app string, args []string) int
}

// usageError is a user error that shows how a command is used: over SSH,
// or in the paas client's grammar (see failFor).
func usageError(c *command) error {
	return &paas.Error{Msg: "usage: " + strings.TrimSpace(c.name+" "+c.usage), Err: usageOf(c.name)}
}

// usageOf marks a usage error of the named command.
type usageOf string

func (u usageOf) Error() string { return "usage of " + string(u) }

// failFor reports err for r as fail does, a usage error in the grammar
// of the paas client when it sent the command.
func (s *Server) failFor(r *request, err error) int {
	var u usageOf
	if r.client && errors.As(err, &u) {
		if c, ok := catalog.Lookup(string(u)); ok {
			err = paas.Errorf("usage: %s", c.ClientUsage())
		}
	}
	return s.fail(r.stderr, err)
}

var commands []*command

func init() {
	commands = []*command{
		{name: "apps", door: door{onNothing, access.Read}, summary: "list apps", run: cmdApps},
		{name: "apps:create", door: door{onServer, access.Create}, usage: "APP", summary: "create an app", run: cmdAppsCreate},
		{name: "apps:info", door: door{onApp, access.Read}, usage: "APP", summary: "show an app", run: cmdAppsInfo},
		{name: "apps:rename", door: door{onApp, access.Share}, usage: "APP NEW", summary: "rename an app: its repository, releases, logs and domains follow; APP.DOMAIN stops routing", run: cmdAppsRename},
		{name: "apps:destroy", door: door{onApp, access.Destroy}, usage: "APP --confirm APP", summary: "destroy an app, its releases and its repository", run: cmdAppsDestroy},
		{name: "config", door: door{onApp, access.Read}, usage: "APP [--shell]", summary: "show config vars (--shell: as export lines)", run: cmdConfig},
		{name: "config:get", door: door{onApp, access.Read}, usage: "APP KEY", summary: "print one config var's value", run: cmdConfigGet},
		{name: "config:set", door: door{onApp, access.Change}, usage: "APP KEY=VALUE... | APP < .env", noWait: true, summary: "set config vars, or those of a .env file on stdin (one new release)", run: cmdConfigSet},
		{name: "config:unset", door: door{onApp, access.Change}, usage: "APP KEY...", noWait: true, summary: "remove config vars (makes a new release)", run: cmdConfigUnset},
		{name: "releases", door: door{onApp, access.Read}, usage: "APP", summary: "list releases, newest first", run: cmdReleases},
		{name: "releases:info", door: door{onApp, access.Read}, usage: "APP vN [--values]", summary: "show a release (config values with --values)", run: cmdReleasesInfo},
		{name: "rollback", door: door{onApp, access.Change}, usage: "APP [vN] [--force]", noWait: true, summary: "make a new release from vN (default: the previous one) and run it", run: cmdRollback},
		{name: "builds", door: door{onApp, access.Read}, usage: "APP [--json]", summary: "list builds, newest first: status, duration, commit, pusher", run: cmdBuilds},
		{name: "ps", door: door{onApp, access.Read}, usage: "APP", summary: "list processes", run: cmdPs},
		{name: "metrics", door: door{onApp, access.Read}, usage: "APP [--since DURATION] [--json]", summary: "show the app's requests, errors, response times, CPU and memory", run: cmdMetrics},
		{name: "ps:scale", door: door{onApp, access.Change}, usage: "APP TYPE=N...", noWait: true, summary: "set process counts (0 to 100)", run: cmdPsScale},
		{name: "ps:restart", door: door{onApp, access.Change}, usage: "APP [TYPE|TYPE.N]", noWait: true, summary: "replace instances one at a time, each healthy before the next", run: cmdPsRestart},
		{name: "ps:stop", door: door{onApp, access.Change}, usage: "APP TYPE", noWait: true, summary: "scale a process type to 0, remembering its count", run: cmdPsStopStart(true)},
		{name: "ps:start", door: door{onApp, access.Change}, usage: "APP TYPE", noWait: true, summary: "start a stopped process type with its remembered count", run: cmdPsStopStart(false)},
		{name: "ps:set", door: door{onApp, access.Change}, usage: "APP TYPE [memory=SIZE] [cpus=N] | APP stop-timeout=SECONDS", noWait: true, summary: "set resource limits of a process type (0 clears), or the app's stop timeout", run: cmdPsSet},
		{name: "maintenance:on", door: door{onApp, access.Change}, usage: "APP", summary: "answer every request with a maintenance page (503)", run: cmdMaintenance(true)},
		{name: "maintenance:off", door: door{onApp, access.Change}, usage: "APP", summary: "serve the app again", run: cmdMaintenance(false)},
		{name: "builder", door: door{onApp, access.Read}, usage: "APP", summary: "show how the app is built: dockerfile, buildpacks or auto", run: cmdBuilder},
		{name: "builder:set", door: door{onApp, access.Change}, usage: "APP dockerfile|buildpacks|auto", summary: "build from the Dockerfile, with buildpacks, or choose by the tree (auto: a Dockerfile wins)", run: cmdBuilderSet},
		{name: "domains", door: door{onApp, access.Read}, usage: "APP", summary: "list the app's hosts", run: cmdDomains},
		{name: "domains:add", door: door{onApp, access.Change}, usage: "APP HOST", summary: "route HOST (or *.example.com) to the app", run: cmdDomainsAdd},
		{name: "domains:remove", door: door{onApp, access.Change}, usage: "APP HOST", summary: "stop routing HOST to the app", run: cmdDomainsRemove},
		{name: "proxy", door: door{onApp, access.Read}, usage: "APP", summary: "show the app's router settings", run: cmdProxy},
		{name: "proxy:set", door: door{onApp, access.Change}, usage: "APP KEY=VALUE...", summary: "change router settings: https-redirect, hsts, default-domain, max-body, connect-timeout, response-timeout", run: cmdProxySet},
		{name: "certs", door: door{onApp, access.Read}, usage: "APP", summary: "list the app's hosts and how HTTPS serves each: source, issuer, expiry", run: cmdCerts},
		{name: "certs:add", door: door{onApp, access.Change}, usage: "APP < CHAIN_AND_KEY.pem", summary: "use your own certificate: PEM chain and key on stdin", run: cmdCertsAdd},
		{name: "certs:remove", door: door{onApp, access.Change}, usage: "APP HOST", summary: "remove your own certificate for HOST", run: cmdCertsRemove},
		{name: "drains", door: door{onApp, access.Read}, usage: "APP", summary: "list the app's log drains with their state, buffered and dropped lines", run: cmdDrains},
		{name: "drains:add", door: door{onApp, access.Change}, usage: "APP URL", summary: "send the app's logs to URL: syslog://HOST:PORT, syslog+tls://HOST:PORT or https://...", run: cmdDrainsAdd},
		{name: "drains:remove", door: door{onApp, access.Change}, usage: "APP URL|N", summary: "stop a drain, named by its URL (as given or as listed) or its number in drains", run: cmdDrainsRemove},
		{name: "addons", door: door{onNothing, access.Read}, usage: "[APP]", summary: "list add-ons (those attached to APP): engine, state, attached apps and variables, disk", run: cmdAddons},
		{name: "addons:create", door: door{onApp, access.Change}, usage: "APP postgres|redis [--name NAME] [--as VAR]", noWait: true, summary: "create a backing service and attach it as DATABASE_URL or REDIS_URL (VAR_URL with --as): a new release", run: cmdAddonsCreate},
		{name: "addons:info", door: door{onAddon, access.Read}, usage: "NAME", summary: "show an add-on: URL (password masked), attached apps, creator, backups, last log lines", run: cmdAddonsInfo},
		{name: "addons:attach", door: door{onAddon, access.Change}, usage: "NAME APP [--as VAR]", noWait: true, summary: "attach an add-on to another app: its URL in a new release", run: cmdAddonsAttach},
		{name: "addons:detach", door: door{onAddon, access.Read}, usage: "NAME APP", noWait: true, summary: "detach an add-on from an app: its variable unset in a new release", run: cmdAddonsDetach},
		{name: "addons:destroy", door: door{onAddon, access.Destroy}, usage: "NAME --confirm NAME [--detach]", noWait: true, summary: "destroy an add-on, its data and its backups (refused while attached, unless --detach)", run: cmdAddonsDestroy},
		{name: "addons:connect", door: door{onAddon, access.Read}, usage: "NAME", summary: "open psql or redis-cli on an add-on (without a terminal, the statements on stdin run)", status: connectAddon},
		{name: "addons:backup", door: door{onAddon, access.Read}, usage: "NAME [--from ID] > FILE", summary: "write a dump to stdout (pg_dump custom format, redis RDB): a new one, or stored backup ID", run: cmdAddonsBackup},
		{name: "addons:restore", door: door{onAddon, access.Change}, usage: "NAME < FILE", noWait: true, summary: "replace an add-on's data with the dump on stdin (the previous data stays if it fails)", run: cmdAddonsRestore},
		{name: "addons:backups", door: door{onAddon, access.Read}, usage: "NAME", summary: "list an add-on's stored backups (taken daily, and by addons:backups:capture)", run: cmdAddonsBackups},
		{name: "addons:backups:capture", door: door{onAddon, access.Change}, usage: "NAME", noWait: true, summary: "store a backup of an add-on now", run: cmdAddonsBackupsCapture},
		{name: "addons:rotate", door: door{onAddon, access.Change}, usage: "NAME", noWait: true, summary: "new credentials: each attached app gets the new URL in a new release, then the old ones stop working", run: cmdAddonsRotate},
		{name: "run", door: door{onApp, access.Change}, usage: "APP [-d|--detach] [--] CMD [ARGS...]", summary: "run a one-off process attached to your terminal (-d: in the background, its output in logs as run.N)", status: runOneOff},
		{name: "logs", door: door{onApp, access.Read}, usage: "APP [-n N] [-t|--tail] [--ps TYPE|TYPE.N] [--source app|paas] [--since 10m|TIME] [--json]", summary: "show recent logs (100 lines by default, all since --since), -t to follow", run: cmdLogs},
		{name: "git:sync", door: door{onApp, access.Deploy}, usage: "APP URL [REF] [--build]", noWait: true, summary: "deploy the commit of REF (a branch, tag or commit; default the remote's HEAD) fetched from a git URL", run: cmdGitSync},
		{name: "git:from-archive", door: door{onApp, access.Deploy}, usage: "APP < ARCHIVE", noWait: true, summary: "deploy the tree of a tar or tar.gz archive on stdin, committed on top of the app's branch", run: cmdGitFromArchive},
		{name: "apps:transfer", door: door{onApp, access.Share}, usage: "APP USER", summary: "make USER the app's owner (the owner stays on as a collaborator)", run: cmdAppsTransfer},
		{name: "access", door: door{onApp, access.Read}, usage: "APP", summary: "list who may act on the app: its owner and collaborators", run: cmdAccess},
		{name: "access:add", door: door{onApp, access.Share}, usage: "APP USER", summary: "let USER deploy, configure and run the app as a collaborator", run: cmdAccessAdd},
		{name: "access:remove", door: door{onApp, access.Share}, usage: "APP USER", summary: "take USER's access to the app away, ending their running commands on it", run: cmdAccessRemove},
		{name: "keys", door: door{onNothing, access.Read}, summary: "list SSH keys: every user's for an admin, your own otherwise", run: cmdKeys},
		{name: "keys:add", door: door{onServer, access.Admin}, usage: "USER [--admin] < KEY.pub", summary: "add the public key on stdin to USER, creating the user (a member, or an admin with --admin)", run: cmdKeysAdd},
		{name: "keys:remove", door: door{onNothing, access.Admin}, usage: "USER [FINGERPRINT]", summary: "remove a key of USER, or all and the user; its open connections close at once", run: cmdKeysRemove},
		{name: "nodes", door: door{onServer, access.Admin}, usage: "[--json]", summary: "list the swarm's machines", run: cmdNodes},
		{name: "nodes:add", door: door{onServer, access.Admin}, usage: "ADDRESS [--name NAME]", summary: "join the Docker engine at ADDRESS to the swarm", run: cmdNodesAdd},
		{name: "nodes:drain", door: door{onServer, access.Admin}, usage: "NAME", summary: "move a node's tasks to other nodes", run: cmdNodesDrain},
		{name: "nodes:activate", door: door{onServer, access.Admin}, usage: "NAME", summary: "let a drained node take tasks again", run: cmdNodesActivate},
		{name: "nodes:remove", door: door{onServer, access.Admin}, usage: "NAME", summary: "drain a node and take it out of the swarm", run: cmdNodesRemove},
		{name: "audit", door: door{onServer, access.Admin}, usage: "[-n N] [--json]", summary: "show the server's audit log: who ran which command, from where, when, with what exit status (newest N, 100 by default)", run: cmdAudit},
		{name: "dashboard:url", door: door{onNothing, access.Read}, summary: "print a login URL for the web dashboard, valid once for 60 seconds", run: cmdDashboardURL},
		{name: "whoami", door: door{onNothing, access.Read}, summary: "show your user, role and key", run: cmdWhoami},
		{name: "help", door: door{onNothing, access.Read}, summary: "show this help", run: cmdHelp},
		{name: "version", door: door{onNothing, access.Read}, summary: "show the platform version", run: cmdVersion},
	}
	for _, c := range commands {
		if cc, ok := catalog.Lookup(c.name); ok {
			c.usage = strings.TrimSpace(strings.TrimPrefix(cc.SSHUsage(), c.name))
			c.summary = cc.Summary
		}
	}
}

func lookupCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// dispatch runs r.args as a command and returns the exit status.
func (s *Server) dispatch(r *request) int {
	c := lookupCommand(r.args[0])
	if c == nil {
		return s.failFor(r, unknownCommand(r.args[0], r.client))
	}
	args := r.args[1:]
	var app string
	if c.door.on == onApp {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return s.failFor(r, usageError(c))
		}
		app, args = args[0], args[1:]
		if err := paas.ValidateAppName(app); err != nil {
			return s.failFor(r, err)
		}
	}
	if c.noWait {
		kept := args[:0:0]
		for _, a := range args {
			if a == "--no-wait" {
				r.ctx = paas.WithNoWait(r.ctx)
				continue
			}
			kept = append(kept, a)
		}
		args = kept
	}
	if err := s.gate(r, c, app, args); err != nil {
		return s.failFor(r, err)
	}
	if c.door.on == onApp {
		ctx, ls, done := s.live.start(r.ctx, r.user, c.door.action, app)
		defer done()
		r.ctx, r.live = ctx, ls
		status, err := s.runCommand(r, c, app, args)
		if refusal := ls.ended(); refusal != nil {
			// Access was taken away while it ran: that is the answer.
			return s.failFor(r, refusal)
		}
		if err != nil {
			return s.failFor(r, err)
		}
		return status
	}
	status, err := s.runCommand(r, c, app, args)
	if err != nil {
		return s.failFor(r, err)
	}
	return status
}

// runCommand runs c once its door let r in: the exit status of a command
// that reports its own, or the error of one that failed.
func (s *Server) runCommand(r *request, c *command, app string, args []string) (int, error) {
	if c.status != nil {
		return c.status(s, r, c, app, args), nil
	}
	if err := c.run(s, r, app, args); err != nil {
		return 1, err
	}
	return 0, nil
}

func cmdHelp(s *Server, r *request, _ string, args []string) error {
	if len(args) > 1 {
		return usageError(lookupCommand("help"))
	}
	if len(args) == 1 {
		c := lookupCommand(args[0])
		if c == nil {
			return unknownCommand(args[0], r.client)
		}
		fmt.Fprintf(r.stdout, "usage: %s\n%s\n", usageLine(c, r.client), c.summary)
		return nil
	}
	w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "Commands (APP first, where one is needed):")
	listed := map[string]bool{}
	for _, cs := range catalog.ByTopic() {
		fmt.Fprintf(w, "\n%s:\n", cs[0].Topic)
		for _, cc := range cs {
			if c := lookupCommand(cc.Name); c != nil {
				fmt.Fprintf(w, "  %s\t%s\n", usageLine(c, r.client), c.summary)
				listed[c.name] = true
			}
		}
	}
	for _, c := range commands {
		if !listed[c.name] {
			fmt.Fprintf(w, "  %s\t%s\n", usageLine(c, r.client), c.summary)
		}
	}
	fmt.Fprintln(w, "\nDeploy with: git push paas main")
	return w.Flush()
}

// usageLine is c's usage over SSH, or in the paas client's grammar.
func usageLine(c *command, client bool) string {
	if cc, ok := catalog.Lookup(c.name); ok && client {
		return cc.ClientUsage()
	}
	return strings.TrimSpace(c.name + " " + c.usage)
}

// unknownCommand is the error for a command the server lacks, naming the
// nearest commands it has.
func unknownCommand(name string, client bool) error {
	var near []string
	for _, n := range catalog.Suggest(name) {
		if lookupCommand(n) != nil || client {
			near = append(near, n)
		}
	}
	switch len(near) {
	case 0:
		return paas.Errorf("unknown command %q; try \"help\"", name)
	case 1:
		return paas.Errorf("unknown command %q. Did you mean %s?", name, near[0])
	default:
		return paas.Errorf("unknown command %q. Did you mean %s or %s?", name, strings.Join(near[:len(near)-1], ", "), near[len(near)-1])
	}
}

func cmdVersion(s *Server, r *request, _ string, args []string) error {
	if len(args) != 0 {
		return usageError(lookupCommand("version"))
	}
	fmt.Fprintf(r.stdout, "paas %s\n", paas.Version)
	return nil
}

func cmdApps(s *Server, r *request, _ string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("apps"))
	}
	names, err := s.visibleApps(r.ctx, r.user)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return emptyListing(r, asJSON, "no apps yet; create one with apps:create APP")
	}
	all, err := s.cfg.Platform.ListApps(r.ctx)
	if err != nil {
		return err
	}
	byName := map[string]paas.App{}
	for _, a := range all {
		byName[a.Name] = a
	}
	list := make([]appJSON, 0, len(names))
	for _, name := range names {
		a, ok := byName[name]
		if !ok {
			continue // destroyed since it was listed
		}
		owner, _, err := s.cfg.Platform.AppAccess(r.ctx, name)
		if errors.Is(err, paas.ErrAppNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		j := appJSON{Name: name, Owner: jsonString(owner), CreatedAt: jsonTime(a.CreatedAt), CreatedBy: jsonString(a.CreatedBy), Damaged: a.Damaged}
		if a.Release > 0 {
			j.Release = &a.Release
		}
		if s.cfg.AppURL != nil {
			j.URL = jsonString(s.cfg.AppURL(name))
		}
		list = append(list, j)
	}
	if asJSON {
		return writeJSON(r, list)
	}
	t := newTable("NAME", "RELEASE", "OWNER", "URL")
	for _, a := range list {
		if a.Damaged != "" {
			fmt.Fprintf(r.stderr, "warning: %s\n", a.Damaged)
		}
		release := "-"
		if a.Release != nil {
			release = fmt.Sprintf("v%d", *a.Release)
		}
		t.row(a.Name, release, orDash(derefString(a.Owner)), orDash(derefString(a.URL)))
	}
	return t.write(r.stdout)
}

func cmdAppsCreate(s *Server, r *request, _ string, args []string) error {
	if len(args) != 1 {
		return usageError(lookupCommand("apps:create"))
	}
	name := args[0]
	if err := paas.ValidateAppName(name); err != nil {
		return err
	}
	app, err := s.cfg.Platform.CreateApp(r.ctx, name, r.by)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Created %s\n", app.Name)
	if s.cfg.AppURL != nil {
		fmt.Fprintf(r.stdout, "URL: %s\n", s.cfg.AppURL(app.Name))
	}
	return nil
}

func cmdAppsInfo(s *Server, r *request, name string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("apps:info"))
	}
	app, err := s.cfg.Platform.App(r.ctx, name)
	if err != nil {
		return err
	}
	if app.Damaged != "" {
		fmt.Fprintf(r.stderr, "warning: %s\n", app.Damaged)
	}
	formation := app.Formation
	if app.Release > 0 {
		// What runs: the current release's types, web=1 by default.
		rels, err := s.cfg.Platform.Releases(r.ctx, name)
		if err != nil {
			return err
		}
		for _, rel := range rels {
			if rel.Version == app.Release && len(rel.ProcessTypes) > 0 {
				formation = rel.Counts(app.Formation)
			}
		}
	}
	if asJSON {
		return writeJSON(r, s.appInfoJSON(app, formation))
	}
	w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name:\t%s\n", app.Name)
	if s.cfg.AppURL != nil {
		fmt.Fprintf(w, "url:\t%s\n", s.cfg.AppURL(app.Name))
	}
	release := "none"
	if app.Release > 0 {
		release = fmt.Sprintf("v%d", app.Release)
	}
	fmt.Fprintf(w, "release:\t%s\n", release)
	fmt.Fprintf(w, "formation:\t%s\n", formatCounts(formation))
	if len(app.Stopped) > 0 {
		fmt.Fprintf(w, "stopped:\t%s\n", formatCounts(app.Stopped))
	}
	for _, t := range slices.Sorted(maps.Keys(app.Limits)) {
		fmt.Fprintf(w, "limits %s:\t%s\n", t, app.Limits[t])
	}
	if app.StopTimeout > 0 {
		fmt.Fprintf(w, "stop timeout:\t%s\n", app.StopTimeout)
	}
	if app.Maintenance {
		fmt.Fprintf(w, "maintenance:\ton\n")
	}
	if app.Builder != "" {
		fmt.Fprintf(w, "builder:\t%s\n", app.Builder)
	}
	if len(app.Domains) > 0 {
		fmt.Fprintf(w, "domains:\t%s\n", strings.Join(app.Domains, ", "))
	}
	if app.Proxy.NoDefaultDomain {
		fmt.Fprintf(w, "default domain:\toff\n")
	}
	fmt.Fprintf(w, "created:\t%s by %s\n", formatTime(app.CreatedAt), orDash(app.CreatedBy))
	return w.Flush()
}

func cmdAppsDestroy(s *Server, r *request, name string, args []string) error {
	c := lookupCommand("apps:destroy")
	fl, rest, err := parseFlags(args, map[string]bool{"--confirm": true})
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(c)
	}
	confirm, ok := fl["--confirm"]
	if !ok {
		return paas.Errorf("destroying %s cannot be undone; run again with --confirm %s", name, name)
	}
	if confirm != name {
		return paas.Errorf("--confirm %s does not match the app name %s", confirm, name)
	}
	addons, err := addonsOf(s, r, name)
	if err != nil {
		return err
	}
	if err := s.cfg.Platform.DestroyApp(r.ctx, name); err != nil {
		return err
	}
	if err := os.RemoveAll(s.repoPath(name)); err != nil {
		return fmt.Errorf("removing repository of %s: %w", name, err)
	}
	fmt.Fprintf(r.stdout, "Destroyed %s\n", name)
	for _, a := range addons {
		fmt.Fprintf(r.stdout, "Detached %s, which remains: destroy it with addons:destroy %s --confirm %s\n", a, a, a)
	}
	return nil
}

func cmdConfig(s *Server, r *request, app string, args []string) error {
	fl, rest, asJSON, err := listFlags(args, map[string]bool{"--shell": false})
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("config"))
	}
	cfg, err := s.cfg.Platform.Config(r.ctx, app)
	if err != nil {
		return err
	}
	if asJSON {
		// An object, as Heroku's config --json: the values in full.
		return writeJSON(r, nonNilMap(cfg))
	}
	if len(cfg) == 0 {
		fmt.Fprintf(r.stderr, "%s has no config vars\n", app)
		return nil
	}
	// Every line is one a shell reads back; --shell makes them exports,
	// for eval or a .env file.
	prefix := ""
	if _, ok := fl["--shell"]; ok {
		prefix = "export "
	}
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		fmt.Fprintf(r.stdout, "%s%s=%s\n", prefix, k, shellwords.Display(cfg[k]))
	}
	return nil
}

func cmdConfigGet(s *Server, r *request, app string, args []string) error {
	if len(args) != 1 {
		return usageError(lookupCommand("config:get"))
	}
	key := args[0]
	if err := paas.ValidateConfigKey(key); err != nil {
		return err
	}
	cfg, err := s.cfg.Platform.Config(r.ctx, app)
	if err != nil {
		return err
	}
	v, ok := cfg[key]
	if !ok {
		return paas.Errorf("config var %s is not set for %s", key, app)
	}
	fmt.Fprintln(r.stdout, v)
	return nil
}

func cmdConfigSet(s *Server, r *request, app string, args []string) error {
	set := map[string]string{}
	if len(args) == 0 {
		// The vars are a .env file on stdin.
		vars, err := readDotenv(r)
		if err != nil {
			return err
		}
		for _, v := range vars {
			set[v.Key] = v.Value
		}
	}
	for _, a := range args {
		k, v, err := paas.ParseAssignment(a)
		if err != nil {
			return err
		}
		set[k] = v
	}
	rel, err := s.cfg.Platform.SetConfig(r.ctx, app, r.by, set, nil, r.stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Set %s on %s%s\n", strings.Join(slices.Sorted(maps.Keys(set)), ", "), app, releaseNote(rel))
	return nil
}

func cmdConfigUnset(s *Server, r *request, app string, args []string) error {
	if len(args) == 0 {
		return usageError(lookupCommand("config:unset"))
	}
	var unset []string
	for _, k := range args {
		if err := paas.ValidateConfigKey(k); err != nil {
			return err
		}
		if !slices.Contains(unset, k) {
			unset = append(unset, k)
		}
	}
	rel, err := s.cfg.Platform.SetConfig(r.ctx, app, r.by, nil, unset, r.stdout)
	if errors.Is(err, paas.ErrUnchanged) {
		// Said, not failed: the vars are unset, as asked.
		msg, _ := paas.UserMessage(err)
		fmt.Fprintln(r.stdout, msg)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Unset %s on %s%s\n", strings.Join(unset, ", "), app, releaseNote(rel))
	return nil
}

func cmdReleases(s *Server, r *request, name string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("releases"))
	}
	app, err := s.cfg.Platform.App(r.ctx, name)
	if err != nil {
		return err
	}
	rels, err := s.cfg.Platform.Releases(r.ctx, name)
	if err != nil {
		return err
	}
	if len(rels) == 0 {
		return emptyListing(r, asJSON, name+" has no releases yet")
	}
	slices.SortFunc(rels, func(a, b paas.Release) int { return b.Version - a.Version })
	if asJSON {
		list := make([]releaseJSON, 0, len(rels))
		for _, rel := range rels {
			list = append(list, toReleaseJSON(rel, app.Release))
		}
		return writeJSON(r, list)
	}
	t := newTable("RELEASE", "STATUS", "BY", "CREATED", "DESCRIPTION")
	for _, rel := range rels {
		// A succeeded release whose build was pruned can no longer run:
		// "pruned" says so in one word.
		status := releaseStatus(rel, app.Release)
		if rel.Pruned && status == paas.StatusSucceeded {
			status = "pruned"
		}
		t.row(rel.Name(), status, orDash(printable(rel.CreatedBy)), formatTime(rel.CreatedAt), orDash(printable(rel.Description)))
	}
	return t.write(r.stdout)
}

func cmdPs(s *Server, r *request, app string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("ps"))
	}
	procs, err := s.cfg.Platform.Processes(r.ctx, app)
	if err != nil {
		return err
	}
	if a, err := s.cfg.Platform.App(r.ctx, app); err == nil && a.Damaged != "" {
		fmt.Fprintf(r.stderr, "warning: %s\n", a.Damaged)
	}
	if len(procs) == 0 {
		return emptyListing(r, asJSON, app+" has no processes")
	}
	slices.SortFunc(procs, func(a, b paas.Process) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return a.Index - b.Index
	})
	if asJSON {
		list := make([]processJSON, 0, len(procs))
		for _, p := range procs {
			list = append(list, toProcessJSON(p))
		}
		return writeJSON(r, list)
	}
	now := s.now()
	onNodes := slices.ContainsFunc(procs, func(p paas.Process) bool { return p.Node != "" })
	cols := []string{"NAME", "STATE", "SINCE", "RELEASE", "COMMAND"}
	if onNodes {
		cols = []string{"NAME", "STATE", "SINCE", "RELEASE", "NODE", "COMMAND"}
	}
	t := newTable(cols...).keepWhole("NAME", "STATE")
	for _, p := range procs {
		state := p.State
		if p.State == "crashed" || p.State == "restarting" || p.Restarts > 0 {
			state = fmt.Sprintf("%s (restarts %d, last exit %s)", p.State, p.Restarts, lastExit(p))
		}
		since := "-"
		if !p.Since.IsZero() {
			since = ago(now.Sub(p.Since))
		}
		if onNodes {
			node := p.Node
			if node == "" {
				node = "-"
			}
			t.row(p.Name, state, since, fmt.Sprintf("v%d", p.Release), node, printable(p.Command))
			continue
		}
		t.row(p.Name, state, since, fmt.Sprintf("v%d", p.Release), printable(p.Command))
	}
	return t.write(r.stdout)
}

// lastExit shows a process's last exit status, with the signal it
// stands for: "3", "137 SIGKILL".
func lastExit(p paas.Process) string {
	if p.LastSignal != "" {
		return fmt.Sprintf("%d %s", p.LastExit, p.LastSignal)
	}
	return strconv.Itoa(p.LastExit)
}

const maxScale = 100

func cmdPsScale(s *Server, r *request, app string, args []string) error {
	if len(args) == 0 {
		return usageError(lookupCommand("ps:scale"))
	}
	counts := map[string]int{}
	for _, a := range args {
		t, n, ok := strings.Cut(a, "=")
		if !ok {
			return paas.Errorf("invalid scale %q: expected TYPE=N", a)
		}
		if err := paas.ValidateProcessType(t); err != nil {
			return err
		}
		count, err := strconv.Atoi(n)
		if err != nil || count < 0 || count > maxScale || n != strconv.Itoa(count) {
			return paas.Errorf("invalid count %q for %s: use a whole number from 0 to %d", n, t, maxScale)
		}
		counts[t] = count
	}
	if err := s.cfg.Platform.Scale(r.ctx, app, counts, r.stdout); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Scaled %s to %s\n", app, formatCounts(counts))
	return nil
}

func cmdPsSet(s *Server, r *request, app string, args []string) error {
	if len(args) == 1 {
		if v, ok := strings.CutPrefix(args[0], "stop-timeout="); ok {
			return setStopTimeout(s, r, app, v)
		}
	}
	if len(args) < 2 {
		return usageError(lookupCommand("ps:set"))
	}
	typ := args[0]
	if err := paas.ValidateProcessType(typ); err != nil {
		return err
	}
	a, err := s.cfg.Platform.App(r.ctx, app)
	if err != nil {
		return err
	}
	l := a.Limits[typ]
	for _, kv := range args[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return paas.Errorf("invalid setting %q: expected memory=SIZE or cpus=N", kv)
		}
		switch k {
		case "memory":
			if l.Memory, err = paas.ParseMemory(v); err != nil {
				return err
			}
		case "cpus":
			if l.CPUs, err = paas.ParseCPUs(v); err != nil {
				return err
			}
		default:
			return paas.Errorf("unknown setting %q: use memory or cpus", k)
		}
	}
	if err := s.cfg.Platform.SetLimits(r.ctx, app, typ, l, r.stdout); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Set %s %s to %s\n", app, typ, l)
	return nil
}

// runOneOff serves `run`: its exit status is the one-off's.
func runOneOff(s *Server, r *request, c *command, app string, args []string) int {
	detach := len(args) > 0 && (args[0] == "-d" || args[0] == "--detach")
	if detach {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return s.failFor(r, usageError(c))
	}
	if detach {
		return runDetached(s, r, app, args)
	}
	status, err := s.cfg.Platform.Run(r.ctx, app, r.by, args, r.stdio())
	return s.exitStatus(r, status, err)
}

// stdio is the session's stdin, stdout and stderr for a process, with the
// session's terminal when it has one.
func (r *request) stdio() runtime.Stdio {
	stdio := runtime.Stdio{Stdin: r.stdin, Stdout: r.stdout, Stderr: r.stderr}
	if r.tty != nil {
		stdio.TTY = true
		stdio.Term = r.tty.term
		stdio.Window = r.tty.window
		stdio.Resize = r.tty.resize
	}
	return stdio
}

// exitStatus is the session's exit status for a process that exited with
// status, or failed to run with err.
func (s *Server) exitStatus(r *request, status int, err error) int {
	if err != nil {
		return s.fail(r.stderr, err)
	}
	if status < 0 || status > 255 {
		status = 255
	}
	return status
}
