package runtime

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// Labels the docker runtime puts on the containers and networks it makes.
// A restarted paasd finds its instances again by them.
const (
	LabelManaged = "paas.managed" // "true" on everything the runtime made
	LabelApp     = "paas.app"
	LabelRelease = "paas.release" // release number
	LabelType    = "paas.type"    // process type
	LabelIndex   = "paas.index"   // 1-based instance index
	LabelOneOff  = "paas.oneoff"  // "true" on one-off containers
	LabelCommand = "paas.command" // the Procfile command
	LabelOwner   = "paas.owner"   // DockerConfig.Owner, when set
)

// ContainerWorkDir is the directory an app's image holds the app in: the
// working directory and HOME of a container whose image names no working
// directory of its own.
const ContainerWorkDir = "/app"

// defaultWebPort is the port a web container listens on (its PORT) unless
// the spec names another.
const defaultWebPort = 5000

// containerPort returns the port s's web process listens on in its
// container.
func containerPort(s Spec) int {
	if s.Port > 0 {
		return s.Port
	}
	return defaultWebPort
}

// natPort names a TCP container port as the engine does.
func natPort(port int) nat.Port { return nat.Port(strconv.Itoa(port) + "/tcp") }

// launchScript is the container's entrypoint program, run by /bin/sh. It
// applies the terminal size a one-off asked for (PAAS_TTY_SIZE holds
// "rows R cols C" made by this package), then runs the dyno script ($1)
// with the command ($2) under bash, or under sh when the image has no
// bash: the same argv the exec runtime runs.
const launchScript = `if [ -n "${PAAS_TTY_SIZE-}" ]; then stty $PAAS_TTY_SIZE 2>/dev/null; fi; unset PAAS_TTY_SIZE; ` +
	`if command -v bash >/dev/null 2>&1; then exec bash -c "$1" ` + dynoArg0 + ` "$2"; fi; ` +
	`exec /bin/sh -c "$1" ` + dynoArg0 + ` "$2"`

// ttySizeEnv carries a one-off's initial terminal size to launchScript.
const ttySizeEnv = "PAAS_TTY_SIZE"

// instanceScript is the dyno script of a formation instance (not a
// one-off). The engine's init passes SIGTERM only to its direct child, this
// shell; the shell passes it on to every process of the container
// (kill -1 spares the init and the shell itself), as a dyno's processes all
// get SIGTERM, then waits until they have all exited, so that a process
// draining its requests is not cut off by the container ending. It must
// only ever run inside a container: kill -1 outside one would signal every
// process of the host.
const instanceScript = `for f in "$HOME"/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done; unset f; ` +
	`term=; trap 'trap "" TERM; term=1; kill -TERM -1 2>/dev/null' TERM; ` +
	`eval "$1" & child=$!; ` +
	`wait "$child"; status=$?; ` +
	`if [ -n "$term" ]; then ` +
	`if [ "$status" -gt 128 ]; then wait "$child"; status=$?; fi; ` +
	`while kill -0 -1 2>/dev/null; do sleep 0.1; done; fi; ` +
	`exit "$status"`

// containerEntrypoint is the entrypoint of every container; the command
// follows as the container's Cmd, so an image's own ENTRYPOINT and CMD
// never apply. Formation instances forward SIGTERM to all their
// processes; one-offs run their command in the foreground, attached.
func containerEntrypoint(instance bool) []string {
	script := dynoScript
	if instance {
		script = instanceScript
	}
	return []string{"/bin/sh", "-c", launchScript, "paas-launch", script}
}

// containerName returns the name of an instance's container:
// "paas.APP.TYPE.N.vR".
func containerName(s Spec) string {
	return fmt.Sprintf("paas.%s.%s.%d.v%d", s.App, cleanName(s.Type), s.Index, s.Release)
}

// oneOffName returns the name of a one-off's container: "paas.APP.run.N".
func oneOffName(s Spec) string {
	return fmt.Sprintf("paas.%s.%s.%d", s.App, cleanName(s.Type), s.Index)
}

// cleanName replaces what a container name may not hold with "-".
func cleanName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '-'
	}, s)
}

// networkName returns the name of app's own bridge network.
func networkName(app string) string { return "paas-" + app }

// containerLabels returns the labels of s's container.
func containerLabels(s Spec, oneOff bool) map[string]string {
	l := map[string]string{
		LabelManaged: "true",
		LabelApp:     s.App,
		LabelRelease: strconv.Itoa(s.Release),
		LabelType:    s.Type,
		LabelIndex:   strconv.Itoa(s.Index),
		LabelCommand: s.Command,
	}
	if oneOff {
		l[LabelOneOff] = "true"
	}
	return l
}

// containerEnv returns a container's environment: s.Env, then HOME
// (home), DYNO when s.Env has none, PORT for web instances, then extra
// name/value pairs. The image's own variables (PATH among them) apply where this
// list does not set them. The result is sorted by name.
func containerEnv(s Spec, web bool, home string, extra ...string) ([]string, error) {
	vars := make(map[string]string, len(s.Env)+4)
	for k, v := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("invalid environment variable name %q", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("environment variable %s contains a NUL byte", k)
		}
		vars[k] = v
	}
	vars["HOME"] = home
	if _, ok := vars["DYNO"]; !ok {
		vars["DYNO"] = s.Name()
	}
	if web {
		vars["PORT"] = strconv.Itoa(containerPort(s))
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

// containerResources turns s's limits into the engine's.
func containerResources(s Spec) container.Resources {
	return container.Resources{
		Memory:   s.Memory,
		NanoCPUs: int64(s.CPUs * 1e9),
	}
}

// containerLogConfig returns the engine's log settings of every
// container: none. paasd reads each container's output attached, as it
// is written, and keeps the history itself; a second copy in the engine
// would cost the engine more CPU than everything else it does for a
// chatty app (it halves the lines per second a container can write) and
// the json-file default would fill the disk. `docker logs` has nothing
// to show: `paas logs` has it all.
func containerLogConfig() container.LogConfig {
	return container.LogConfig{Type: "none"}
}

// stopSeconds rounds d up to whole seconds, the engine's unit for stop
// timeouts.
func stopSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// instanceConfig returns the container and host configuration of an
// instance of s whose web port is published on host, in workDir. Without
// a command, the image's own entrypoint and command run.
func instanceConfig(s Spec, host, workDir string) (*container.Config, *container.HostConfig, error) {
	env, err := containerEnv(s, s.Web, workDir)
	if err != nil {
		return nil, nil, err
	}
	cfg := &container.Config{
		Image:        s.Slug,
		Env:          env,
		WorkingDir:   workDir,
		Labels:       containerLabels(s, false),
		AttachStdout: true,
		AttachStderr: true,
	}
	if s.Command != "" {
		cfg.Entrypoint = containerEntrypoint(true)
		cfg.Cmd = []string{s.Command}
	}
	if s.StopTimeout > 0 {
		sec := stopSeconds(s.StopTimeout)
		cfg.StopTimeout = &sec
	}
	init := true
	hc := &container.HostConfig{
		Init:          &init,
		Resources:     containerResources(s),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		NetworkMode:   container.NetworkMode(networkName(s.App)),
		LogConfig:     containerLogConfig(),
	}
	if s.Web {
		p := natPort(containerPort(s))
		cfg.ExposedPorts = nat.PortSet{p: {}}
		hc.PortBindings = nat.PortMap{p: {{HostIP: host, HostPort: ""}}}
	}
	return cfg, hc, nil
}

// oneOffConfig returns the container and host configuration of a one-off
// of s attached to stdio, in workDir. It never publishes a port.
func oneOffConfig(s Spec, stdio Stdio, workDir string) (*container.Config, *container.HostConfig, error) {
	var extra []string
	if stdio.TTY {
		term := stdio.Term
		if term == "" {
			term = "xterm"
		}
		size := ttySize(stdio.Window)
		extra = []string{"TERM", term, ttySizeEnv, fmt.Sprintf("rows %d cols %d", size.Rows, size.Cols)}
	}
	env, err := containerEnv(s, false, workDir, extra...)
	if err != nil {
		return nil, nil, err
	}
	cfg := &container.Config{
		Image:        s.Slug,
		Entrypoint:   containerEntrypoint(false),
		Cmd:          []string{s.Command},
		Env:          env,
		WorkingDir:   workDir,
		Labels:       containerLabels(s, true),
		Tty:          stdio.TTY,
		OpenStdin:    stdio.Stdin != nil,
		StdinOnce:    stdio.Stdin != nil,
		AttachStdin:  stdio.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	}
	init := true
	hc := &container.HostConfig{
		Init:          &init,
		Resources:     containerResources(s),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		NetworkMode:   container.NetworkMode(networkName(s.App)),
		LogConfig:     containerLogConfig(),
	}
	return cfg, hc, nil
}

// ttySize returns w, or 80x24 when w has no size.
func ttySize(w WindowSize) WindowSize {
	if w.Cols == 0 || w.Rows == 0 {
		return WindowSize{Cols: 80, Rows: 24}
	}
	return w
}

// instanceFromSummary maps a listed container to an Instance; ok is false
// when its labels do not describe an instance. host replaces a published
// address that names every interface.
func instanceFromSummary(c container.Summary, host string) (Instance, bool) {
	l := c.Labels
	rel, err1 := strconv.Atoi(l[LabelRelease])
	idx, err2 := strconv.Atoi(l[LabelIndex])
	if l[LabelApp] == "" || l[LabelType] == "" || err1 != nil || err2 != nil {
		return Instance{}, false
	}
	inst := Instance{
		ID:      c.ID,
		App:     l[LabelApp],
		Release: rel,
		Type:    l[LabelType],
		Index:   idx,
		Command: l[LabelCommand],
		Started: time.Unix(c.Created, 0),
	}
	for _, p := range c.Ports {
		// An instance publishes only its web port.
		if p.Type != "tcp" || p.PublicPort == 0 {
			continue
		}
		inst.Addr = hostPort(bindIP(p.IP, host), int(p.PublicPort))
		// The engine lists IPv4 bindings first; the first one serves.
		break
	}
	return inst, true
}

// bindIP returns ip, or host when ip names every interface.
func bindIP(ip, host string) string {
	if ip == "" || ip == "0.0.0.0" || ip == "::" {
		return host
	}
	return ip
}
