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
	// WidenStdout, when set, is called before logs runs with stdout not
	// a terminal: it enlarges a pipe on stdout, see widenPipe.
	WidenStdout func()
}

const usage = `usage: paas [-a APP] COMMAND [ARGS...]

The app is -a APP, else $PAAS_APP, else the app of the git remote "paas".
The server is the one of the git remote "paas", else $PAAS_HOST
([user@]host[:port]). SSH runs $PAAS_SSH_COMMAND, else $GIT_SSH_COMMAND,
else ssh. Deploy with: git push paas main
`

// appless lists the commands that take no app (apps:create takes its
// name as an argument; an add-on's commands name the add-on first).
var appless = map[string]bool{
	"apps": true, "apps:create": true, "help": true, "version": true,
	"addons:info": true, "addons:destroy": true, "addons:connect": true,
	"addons:backup": true, "addons:restore": true, "addons:backups": true,
	"addons:backups:capture": true, "addons:rotate": true,
	"keys": true, "keys:add": true, "keys:remove": true, "whoami": true,
	"audit": true,
}

// attached lists the commands that get a terminal when stdin is one: the
// process they start is the user's to talk to.
var attached = map[string]bool{"run": true, "addons:connect": true}

// appSecond lists the commands that take NAME APP: given NAME alone, the
// client adds the app.
var appSecond = map[string]bool{"addons:attach": true, "addons:detach": true}

// operands counts the arguments that are not flags; valued lists the
// flags that take the next argument as their value.
func operands(args []string, valued ...string) int {
	n := 0
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			return n + len(args) - i - 1
		case slices.Contains(valued, a):
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
	app, rest, err := parseGlobal(args)
	if err != nil {
		return fail("%v", err)
	}
	if len(rest) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return 1
	}
	cmd := rest[0]
	if cmd == "help" {
		fmt.Fprint(env.Stdout, usage)
		t, err := resolveTarget(env, "")
		if err != nil {
			fmt.Fprintf(env.Stdout, "\n(%v; the server's commands are listed once it is known)\n", err)
			return 0
		}
		fmt.Fprintln(env.Stdout)
		argv, err := sshArgv(env, t, []string{"help"}, false)
		if err != nil {
			return fail("%v", err)
		}
		return runSSH(env, argv)
	}
	t, err := resolveTarget(env, app)
	if err != nil {
		return fail("%v", err)
	}
	noApp := func() int { return fail("no app: use -a APP, set PAAS_APP or add a git remote named paas") }
	words := []string{cmd}
	cmdArgs := rest[1:]
	switch {
	case cmd == "addons":
		// The app's add-ons; every add-on with --all or without an app.
		all := slices.Contains(cmdArgs, "--all")
		cmdArgs = slices.DeleteFunc(slices.Clone(cmdArgs), func(a string) bool { return a == "--all" })
		if !all && len(cmdArgs) == 0 && t.App != "" {
			words = append(words, t.App)
		}
	case appSecond[cmd]:
		if operands(cmdArgs, "--as") == 1 {
			if t.App == "" {
				return noApp()
			}
			cmdArgs = append(slices.Clone(cmdArgs), t.App)
		}
	case !appless[cmd]:
		if t.App == "" {
			return noApp()
		}
		words = append(words, t.App)
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
		switch operands(cmdArgs) {
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
	if in, rest, err := stdinFile(cmd, cmdArgs, env.StdinIsTerminal); err != nil {
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
	argv, err := sshArgv(env, t, words, attached[cmd] && env.StdinIsTerminal)
	if err != nil {
		return fail("%v", err)
	}
	return runSSH(env, argv)
}

// parseGlobal reads the client's own flags, which come before the command.
func parseGlobal(args []string) (app string, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-a" || a == "--app":
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("%s needs an app name", a)
			}
			i++
			app = args[i]
		case strings.HasPrefix(a, "-a=") || strings.HasPrefix(a, "--app="):
			_, app, _ = strings.Cut(a, "=")
		case a == "-h" || a == "--help":
			return app, append([]string{"help"}, args[i+1:]...), nil
		case a == "--":
			return app, args[i+1:], nil
		case strings.HasPrefix(a, "-"):
			return "", nil, fmt.Errorf("unknown flag %s", a)
		default:
			return app, args[i:], nil
		}
	}
	return app, nil, nil
}

// resolveTarget finds the SSH destination and the app. The app is flagApp,
// else PAAS_APP, else the paas remote's; the destination is the paas
// remote's, else PAAS_HOST's.
func resolveTarget(env Env, flagApp string) (target, error) {
	var t target
	var remoteErr error
	if env.GitRemote != nil {
		if raw := env.GitRemote("paas"); raw != "" {
			t, remoteErr = parseRemote(raw)
		}
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
	if a := env.Getenv("PAAS_APP"); a != "" {
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
	if t.Port != "" {
		argv = append(argv, "-p", t.Port)
	}
	if tty {
		argv = append(argv, "-t")
	} else {
		argv = append(argv, "-T")
	}
	return append(argv, t.dest(), shellwords.Join(words)), nil
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
