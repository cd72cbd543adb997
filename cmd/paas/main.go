// Command paas is the platform's client: it turns `paas config:set K=V`
// into an SSH command for the app named by -a APP, $PAAS_APP or the git
// remote "paas", and runs it with the system's ssh client.
package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
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
		Exec:             execProgram,
		WidenStdout:      func() { widenPipe(os.Stdout) },
	}))
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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
