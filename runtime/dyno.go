package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// DefaultBasePath is the PATH that follows $HOME/bin when neither the
// ExecConfig nor the instance's environment says otherwise.
const DefaultBasePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// dynoScript is the shell program every instance runs: it sources the
// slug's .profile.d scripts in order, then evaluates the command, which
// arrives as the positional parameter $1 and is never spliced into this
// text.
const dynoScript = `for f in "$HOME"/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done; unset f; eval "$1"`

// dynoArg0 is the name the shell sees as $0.
const dynoArg0 = "paas-dyno"

// findShell returns the shell instances run under: bash, or sh without
// it, looked up in PATH and then in the usual places.
func findShell() string {
	for _, name := range []string{"bash", "sh"} {
		if p, err := exec.LookPath(name); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				return abs
			}
		}
		for _, dir := range []string{"/usr/bin", "/bin"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	return "/bin/sh"
}

// slugHome checks that slug is a directory and returns its absolute path,
// which is the instance's working directory and HOME.
func slugHome(slug string) (string, error) {
	if slug == "" {
		return "", fmt.Errorf("no slug directory given")
	}
	home, err := filepath.Abs(slug)
	if err != nil {
		return "", fmt.Errorf("resolving slug %q: %w", slug, err)
	}
	fi, err := os.Stat(home)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("slug %s: %w", home, ErrArtifactMissing)
	}
	if err != nil {
		return "", fmt.Errorf("checking slug: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("slug %s is not a directory", home)
	}
	return home, nil
}

// checkSpec rejects specs that cannot be started.
func checkSpec(s Spec) error {
	if s.App == "" {
		return fmt.Errorf("spec has no app")
	}
	if s.Type == "" {
		return fmt.Errorf("spec has no process type")
	}
	if strings.TrimSpace(s.Command) == "" {
		return fmt.Errorf("%s %s: empty command", s.App, s.Name())
	}
	if strings.IndexByte(s.Command, 0) >= 0 {
		return fmt.Errorf("%s %s: command contains a NUL byte", s.App, s.Name())
	}
	return nil
}

// dynoEnv builds an instance's complete environment: env, then HOME, a
// PATH when env has none, and PORT when port is not 0. extra entries
// (such as TERM) are set last. The result is sorted by name.
func dynoEnv(env map[string]string, home, basePath string, port int, extra ...string) ([]string, error) {
	vars := make(map[string]string, len(env)+4)
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("invalid environment variable name %q", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("environment variable %s contains a NUL byte", k)
		}
		vars[k] = v
	}
	vars["HOME"] = home
	if _, ok := vars["PATH"]; !ok {
		vars["PATH"] = home + "/bin:" + basePath
	}
	if port != 0 {
		vars["PORT"] = strconv.Itoa(port)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out, nil
}

// dynoCmd returns the command that runs command in home under shell.
func dynoCmd(shell, home string, env []string, command string) *exec.Cmd {
	return &exec.Cmd{
		Path: shell,
		Args: []string{shell, "-c", dynoScript, dynoArg0, command},
		Dir:  home,
		Env:  env,
	}
}
