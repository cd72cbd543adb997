// Command paas is the platform's client: it turns `paas config:set K=V`
// into an SSH command for the app named by -a APP, the git remote -r
// REMOTE, $PAAS_APP or the git remote "paas", and runs it with the
// system's ssh client. Its help comes from the command catalog, without
// asking the server.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/term"
)

func main() {
	os.Exit(Main(os.Args[1:], Env{
		Getenv:           os.Getenv,
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		StdinIsTerminal:  isTerminal(os.Stdin),
		StdoutIsTerminal: isTerminal(os.Stdout),
		GitRemote:        gitRemote,
		GitAddRemote:     gitAddRemote,
		OpenURL:          func(u string) error { return openURL(os.Getenv, u) },
		Exec:             execProgram,
		WidenStdout:      func() { widenPipe(os.Stdout) },
	}))
}

// isTerminal reports whether f is a terminal (/dev/null, a character
// device too, is not).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// gitAddRemote adds the remote to the git repository of the current
// directory.
func gitAddRemote(name, url string) error {
	if err := exec.Command("git", "rev-parse", "--is-inside-work-tree").Run(); err != nil {
		return errNotRepo
	}
	if out, err := exec.Command("git", "remote", "add", "--", name, url).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// gitRemote returns the URL of the named remote of the git repository in
// the current directory, "" when there is none.
func gitRemote(name string) string {
	out, err := exec.Command("git", "remote", "get-url", "--", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// execProgram replaces the process with argv, found on PATH.
func execProgram(argv []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return syscall.Exec(path, argv, os.Environ())
}
