package paasd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// sshTimeout bounds one command run over SSH.
const sshTimeout = 2 * time.Minute

// sshOptions are the ssh flags that log in with the server's key only,
// without asking anything or keeping host keys.
func (s *Server) sshOptions() []string {
	return []string{"-i", s.Key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}
}

// SSHArgs is the ssh argument list (without "ssh") that runs command on
// the server.
func (s *Server) SSHArgs(command string) []string {
	return append(s.sshOptions(), "-p", s.SSHPort, "paas@"+s.sshHost(), command)
}

// SSH runs command on the server and returns its standard output; a
// failure's error holds the command's standard error.
func (s *Server) SSH(ctx context.Context, command string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, sshTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, "ssh", s.SSHArgs(command)...)
	c.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return string(out), fmt.Errorf("ssh %s: %w: %s", command, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// gitEnv is the environment for git commands that push to the server: the
// benchmark's own, with the server's key for SSH, no user or system git
// configuration, and a fixed author.
func (s *Server) gitEnv() []string {
	return append(os.Environ(),
		"GIT_SSH_COMMAND=ssh "+strings.Join(s.sshOptions(), " "),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com",
	)
}

// remote is the git remote URL of app on the server.
func (s *Server) remote(app string) string {
	return "ssh://paas@" + s.sshHost() + ":" + s.SSHPort + "/" + app
}

// sshHost is the address the SSH gateway listens on.
func (s *Server) sshHost() string {
	if s.SSHHost == "" {
		return "127.0.0.1"
	}
	return s.SSHHost
}
