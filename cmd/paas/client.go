package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"

	"paas"
	"paas/catalog"
	"paas/shellwords"
)

// Env is everything Main takes from the process it runs in.
type Env struct {
	Getenv          func(string) string
	Stdin           io.Reader
	Stdout, Stderr  io.Writer
	StdinIsTerminal bool
	// StdoutIsTerminal asks logs for colour.
	StdoutIsTerminal bool
	// GitRemote returns the URL of the named git remote of the current
	// repository, "" when there is none.
	GitRemote func(name string) string
	// Exec, when set, replaces the process with argv (it returns only on
	// failure); otherwise ssh runs as a child process.
	Exec func(argv []string) error
	// GitAddRemote adds a git remote to the repository of the current
	// directory; errNotRepo outside one.
	GitAddRemote func(name, url string) error
	// OpenURL, when set, shows a URL in a browser.
	OpenURL func(url string) error
	// WidenStdout, when set, is called before logs runs with stdout not
	// a terminal: it enlarges a pipe on stdout, see widenPipe.
	WidenStdout func()
}

// clientHelp is the head of `paas help`: how the client finds the app
// and the server.
const clientHelp = `usage: paas COMMAND [ARGS...] [-a APP] [-r REMOTE]

The app is -a/--app APP, else the app of the git remote -r/--remote NAME,
else $PAAS_APP, else the app of the git remote "paas". The server is the
remote's, else $PAAS_HOST ([user@]host[:port]). SSH runs $PAAS_SSH_COMMAND,
else $GIT_SSH_COMMAND, else ssh. Deploy with: git push paas main
The client's flags go anywhere on the line, except in run's command line:
paas run -a APP ls -a runs "ls -a". After --, nothing is the client's.
paas help COMMAND (or paas COMMAND --help) shows a command's flags.

`

// operands counts the arguments of c that are not flags or their values.
func operands(c catalog.Command, args []string) int {
	n := 0
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			return n + len(args) - i - 1
		case c.TakesValue(a):
			i++
		case !strings.HasPrefix(a, "-"):
			n++
		}
	}
	return n
}

// Main runs the client with args (without the program name) and returns
// the exit status: ssh's, or 1 when the command could not be sent.
func Main(args []string, env Env) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "paas: "+format+"\n", a...)
		return 1
	}
	l, err := parseLine(args)
	if err != nil {
		return fail("%v", err)
	}
	switch {
	case l.version:
		fmt.Fprintf(env.Stdout, "paas client %s\n", paas.Version)
		return 0
	case l.name == "" || (l.name == "help" && len(l.args) == 0):
		fmt.Fprint(env.Stdout, clientHelp)
		catalog.WriteList(env.Stdout)
		return 0
	case l.name == "help":
		return showHelp(env, l.args[0])
	}
	c, ok := catalog.Lookup(l.name)
	if !ok {
		return fail("%s", unknownCommand(l.name))
	}
	if l.help {
		return showHelp(env, c.Name)
	}
	useRemote := l.remote
	if c.Name == "apps:create" && useRemote != "" && (env.GitRemote == nil || env.GitRemote(useRemote) == "") {
		// -r names the remote apps:create is to add.
		useRemote = ""
	}
	t, err := resolveTarget(env, l.app, useRemote)
	if err != nil {
		return fail("%v", err)
	}
	noApp := func() int {
		return fail("no app: use -a APP, -r REMOTE, set PAAS_APP or add a git remote named paas")
	}
	cmd := c.Name
	words := []string{cmd}
	cmdArgs := l.args
	switch c.App {
	case catalog.AppOptional:
		// The app's add-ons; every add-on with --all or without an app.
		all := slices.Contains(cmdArgs, "--all")
		cmdArgs = slices.DeleteFunc(slices.Clone(cmdArgs), func(a string) bool { return a == "--all" })
		if !all && len(cmdArgs) == 0 && t.App != "" {
			words = append(words, t.App)
		}
	case catalog.AppSecond:
		if operands(c, cmdArgs) == 1 {
			if t.App == "" {
				return noApp()
			}
			cmdArgs = append(slices.Clone(cmdArgs), t.App)
		}
	case catalog.AppFirst:
		if t.App == "" {
			return noApp()
		}
		words = append(words, t.App)
	}
	switch cmd {
	case "open":
		if len(cmdArgs) != 0 {
			return fail("usage: %s", c.ClientUsage())
		}
		return openApp(env, t)
	case "dashboard":
		if len(cmdArgs) != 0 {
			return fail("usage: %s", c.ClientUsage())
		}
		return openDashboard(env, t)
	case "apps:create":
		if len(cmdArgs) == 0 && l.app != "" {
			// Heroku's spelling: apps:create -a NAME.
			cmdArgs = []string{l.app}
		}
		return createApp(env, t, l.remote, cmdArgs)
	}
	// A dump is binary: it is never read from or written to a terminal.
	if cmd == "addons:restore" && env.StdinIsTerminal {
		return fail("addons:restore reads a dump on stdin, not from a terminal: paas addons:restore NAME < FILE")
	}
	if cmd == "addons:backup" && env.StdoutIsTerminal {
		return fail("addons:backup writes a binary dump to stdout: send it to a file (paas addons:backup NAME > FILE)")
	}
	if cmd == "keys:add" {
		// The public key goes on ssh's stdin: from KEY_FILE, or piped.
		switch operands(c, cmdArgs) {
		case 2:
			in, rest, err := readKeyFile(cmdArgs)
			if err != nil {
				return fail("%v", err)
			}
			env.Stdin, env.Exec, cmdArgs = in, nil, rest
		case 1:
			if env.StdinIsTerminal {
				return fail("keys:add reads the public key from KEY_FILE or stdin: paas keys:add USER KEY_FILE (or < KEY_FILE)")
			}
		}
	}
	if cmd == "certs:add" && len(cmdArgs) > 0 {
		// The files are read here and sent on ssh's stdin.
		in, err := readCertFiles(cmdArgs)
		if err != nil {
			return fail("%v", err)
		}
		env.Stdin, env.Exec, cmdArgs = in, nil, nil
	}
	if in, rest, err := stdinFile(c, cmdArgs, env.StdinIsTerminal); err != nil {
		return fail("%v", err)
	} else if in != nil {
		if c, ok := in.(io.Closer); ok {
			defer c.Close()
		}
		env.Stdin, env.Exec, cmdArgs = in, nil, rest
	}
	words = append(words, cmdArgs...)
	if cmd == "logs" && env.StdoutIsTerminal {
		words = append(words, "--color")
	}
	if cmd == "logs" && !env.StdoutIsTerminal && env.WidenStdout != nil {
		env.WidenStdout()
	}
	argv, err := sshArgv(env, t, words, c.Attached && env.StdinIsTerminal && !detached(c, cmdArgs))
	if err != nil {
		return fail("%v", err)
	}
	return runSSH(env, argv)
}

// unknownCommand is the error for a command the catalog lacks, with the
// nearest names.
func unknownCommand(name string) string {
	msg := fmt.Sprintf("unknown command %q.", name)
	switch s := catalog.Suggest(name); len(s) {
	case 0:
		return msg + " See paas help."
	case 1:
		return msg + " Did you mean " + s[0] + "?"
	default:
		return msg + " Did you mean " + strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1] + "?"
	}
}

// showHelp prints a command's help, without asking the server.
func showHelp(env Env, name string) int {
	c, ok := catalog.Lookup(name)
	if !ok {
		fmt.Fprintf(env.Stderr, "paas: %s\n", unknownCommand(name))
		return 1
	}
	c.WriteHelp(env.Stdout)
	return 0
}

// resolveTarget finds the SSH destination and the app. The app is
// flagApp, else the app of the git remote named remote, else PAAS_APP,
// else the app of the remote "paas"; the destination is the remote's,
// else PAAS_HOST's.
func resolveTarget(env Env, flagApp, remote string) (target, error) {
	var t target
	var remoteErr error
	name := remote
	if name == "" {
		name = defaultRemote
	}
	if env.GitRemote != nil {
		if raw := env.GitRemote(name); raw != "" {
			t, remoteErr = parseRemote(raw)
		}
	}
	if remote != "" && t.Host == "" {
		if remoteErr != nil {
			return target{}, remoteErr
		}
		return target{}, fmt.Errorf("no git remote %q here", remote)
	}
	if t.Host == "" {
		h := env.Getenv("PAAS_HOST")
		if h == "" {
			if remoteErr != nil {
				return target{}, remoteErr
			}
			return target{}, errors.New("no server: add a git remote named paas or set PAAS_HOST=[user@]host[:port]")
		}
		ht, err := parseHost(h)
		if err != nil {
			return target{}, err
		}
		t.User, t.Host, t.Port = ht.User, ht.Host, ht.Port
	}
	if a := env.Getenv("PAAS_APP"); a != "" && remote == "" {
		t.App = a
	}
	if flagApp != "" {
		t.App = flagApp
	}
	return t, nil
}

// sshArgv builds the ssh command line: the ssh client with its own
// options, -p when a port is set, -t or -T, the destination, then the
// server command as one shell-quoted argument.
func sshArgv(env Env, t target, words []string, tty bool) ([]string, error) {
	sshCmd := env.Getenv("PAAS_SSH_COMMAND")
	if sshCmd == "" {
		sshCmd = env.Getenv("GIT_SSH_COMMAND")
	}
	if sshCmd == "" {
		sshCmd = "ssh"
	}
	argv, err := shellwords.Split(sshCmd)
	if err != nil {
		return nil, fmt.Errorf("parsing the ssh command %q: %w", sshCmd, err)
	}
	if len(argv) == 0 {
		return nil, errors.New("the ssh command is empty")
	}
	// The server shows usage lines in the client's grammar to a client
	// that says it is one.
	argv = append(argv, "-o", "SetEnv=PAAS_CLIENT=1")
	if t.Port != "" {
		argv = append(argv, "-p", t.Port)
	}
	if tty {
		// Without "Connection to HOST closed." when the command ends.
		argv = append(argv, "-o", "LogLevel=ERROR", "-t")
	} else {
		argv = append(argv, "-T")
	}
	return append(argv, t.dest(), shellwords.Join(words)), nil
}

// captureSSH runs words on the server, as the client does for t, and
// returns what the command printed on stdout; stderr passes through. A
// status other than 0 is the command's (or ssh's) and has been said.
func captureSSH(env Env, t target, words []string) ([]byte, int) {
	argv, err := sshArgv(env, t, words, false)
	if err != nil {
		fmt.Fprintf(env.Stderr, "paas: %v\n", err)
		return nil, 1
	}
	var out bytes.Buffer
	capture := env
	capture.Exec, capture.Stdout = nil, &out
	if st := runSSH(capture, argv); st != 0 {
		return nil, st
	}
	return out.Bytes(), 0
}

func runSSH(env Env, argv []string) int {
	if env.Exec != nil {
		// Replacing the process lets signals and the exit status pass
		// straight between the caller and ssh.
		err := env.Exec(argv)
		fmt.Fprintf(env.Stderr, "paas: running %s: %v\n", argv[0], err)
		return 1
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = env.Stdin, env.Stdout, env.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if code := ee.ExitCode(); code > 0 {
			return code
		}
		return 255
	default:
		fmt.Fprintf(env.Stderr, "paas: running %s: %v\n", argv[0], err)
		return 1
	}
}

// maxCertFile bounds a certificate or key file certs:add reads.
const maxCertFile = 128 << 10

// readCertFiles reads `certs:add CERT_FILE KEY_FILE`: the PEM chain and
// its key, one after the other, for the server's stdin.
func readCertFiles(args []string) (io.Reader, error) {
	if len(args) != 2 {
		return nil, errors.New("usage: paas certs:add CERT_FILE KEY_FILE (or the PEM chain and key on stdin)")
	}
	var all []byte
	for _, name := range args {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(f, maxCertFile+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		if len(data) > maxCertFile {
			return nil, fmt.Errorf("%s is larger than %d KiB: not a certificate or key", name, maxCertFile>>10)
		}
		all = append(all, data...)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			all = append(all, '\n')
		}
	}
	return bytes.NewReader(all), nil
}

// maxKeyFile bounds the public key file keys:add reads.
const maxKeyFile = 16 << 10

// readKeyFile reads the KEY_FILE operand of `keys:add USER [--admin]
// KEY_FILE`, the last operand, and returns it for the server's stdin
// with the other arguments.
func readKeyFile(args []string) (io.Reader, []string, error) {
	i := len(args) - 1
	for i >= 0 && strings.HasPrefix(args[i], "-") {
		i--
	}
	name := args[i]
	rest := append(slices.Clone(args[:i]), args[i+1:]...)
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > maxKeyFile {
		return nil, nil, fmt.Errorf("%s is larger than %d KiB: not a public key", name, maxKeyFile>>10)
	}
	return bytes.NewReader(data), rest, nil
}

// detached reports whether run's arguments ask for a one-off in the
// background (-d or --detach before its command), which needs no
// terminal.
func detached(c catalog.Command, args []string) bool {
	if c.Name != "run" {
		return false
	}
	for _, a := range args {
		switch {
		case a == "-d" || a == "--detach":
			return true
		case a == "--" || !strings.HasPrefix(a, "-"):
			return false
		}
	}
	return false
}
