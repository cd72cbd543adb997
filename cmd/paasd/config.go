package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"paas"
)

// config is paasd's whole configuration: PAAS_* environment variables,
// overridden by flags.
type config struct {
	DataDir        string
	SSHAddr        string
	HTTPAddr       string
	Domain         string
	Runtime        string
	AuthorizedKeys string
	LogFormat      string
	StopTimeout    time.Duration
	BootTimeout    time.Duration
	BuildTimeout   time.Duration
	StackImage     string
	BuildMemory    int64
	MaxImageSize   int64
	KeepReleases   int
	ReleaseTimeout time.Duration
	RestartMax     time.Duration
	BuildConc      int
}

// loadConfig reads env (a getenv function) and then args as flags.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	def := func(key, fallback string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return fallback
	}
	var c config
	fs := flag.NewFlagSet("paasd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.DataDir, "data-dir", def("PAAS_DATA_DIR", "./data"), "state directory (PAAS_DATA_DIR)")
	fs.StringVar(&c.SSHAddr, "ssh-addr", def("PAAS_SSH_ADDR", ":2222"), "SSH listen address (PAAS_SSH_ADDR)")
	fs.StringVar(&c.HTTPAddr, "http-addr", def("PAAS_HTTP_ADDR", ":8080"), "HTTP router listen address (PAAS_HTTP_ADDR)")
	fs.StringVar(&c.Domain, "domain", def("PAAS_DOMAIN", "localhost"), "apps are served at APP.DOMAIN (PAAS_DOMAIN)")
	fs.StringVar(&c.Runtime, "runtime", def("PAAS_RUNTIME", "auto"), "process runtime: docker, exec, or auto: docker when an engine answers (PAAS_RUNTIME)")
	fs.StringVar(&c.StackImage, "stack-image", def("PAAS_STACK_IMAGE", "paas/stack:bookworm"), "image builds and instances run on (PAAS_STACK_IMAGE)")
	fs.StringVar(&c.AuthorizedKeys, "authorized-keys", def("PAAS_AUTHORIZED_KEYS", ""), "authorized_keys file admitted as admins at start (PAAS_AUTHORIZED_KEYS)")
	fs.StringVar(&c.LogFormat, "log-format", def("PAAS_LOG_FORMAT", "text"), "text or json (PAAS_LOG_FORMAT)")
	durations := []struct {
		p        *time.Duration
		name     string
		env      string
		fallback time.Duration
		usage    string
	}{
		{&c.StopTimeout, "stop-timeout", "PAAS_STOP_TIMEOUT", 30 * time.Second, "grace between SIGTERM and SIGKILL"},
		{&c.BootTimeout, "boot-timeout", "PAAS_BOOT_TIMEOUT", 60 * time.Second, "time a web instance has to listen on $PORT"},
		{&c.BuildTimeout, "build-timeout", "PAAS_BUILD_TIMEOUT", 15 * time.Minute, "longest build"},
		{&c.ReleaseTimeout, "release-timeout", "PAAS_RELEASE_TIMEOUT", time.Hour, "longest release phase"},
		{&c.RestartMax, "restart-max-delay", "PAAS_RESTART_MAX_DELAY", 5 * time.Minute, "longest wait between restarts of a crashing instance"},
	}
	for _, d := range durations {
		v := d.fallback
		if s := getenv(d.env); s != "" {
			parsed, err := parseDuration(s)
			if err != nil {
				return c, fmt.Errorf("%s: %w", d.env, err)
			}
			v = parsed
		}
		fs.DurationVar(d.p, d.name, v, d.usage+" ("+d.env+")")
	}
	sizes := []struct {
		p        *int64
		name     string
		env      string
		fallback string
		usage    string
	}{
		{&c.BuildMemory, "build-memory", "PAAS_BUILD_MEMORY", "2g", "memory limit of a build container"},
		{&c.MaxImageSize, "max-image-size", "PAAS_MAX_IMAGE_SIZE", "4g", "largest image a build may produce, 0 for no limit"},
	}
	for _, sz := range sizes {
		v, err := paas.ParseMemory(def(sz.env, sz.fallback))
		if err != nil {
			return c, fmt.Errorf("%s: %w", sz.env, err)
		}
		*sz.p = v
		fs.Func(sz.name, sz.usage+" ("+sz.env+", default "+sz.fallback+")", func(s string) error {
			v, err := paas.ParseMemory(s)
			*sz.p = v
			return err
		})
	}
	keep, err := strconv.Atoi(def("PAAS_KEEP_RELEASES", "10"))
	if err != nil || keep < 0 {
		return c, fmt.Errorf("PAAS_KEEP_RELEASES: want a whole number, not %q", def("PAAS_KEEP_RELEASES", "10"))
	}
	conc, err := strconv.Atoi(def("PAAS_BUILD_CONCURRENCY", strconv.Itoa(runtime.NumCPU())))
	if err != nil || conc < 1 {
		return c, fmt.Errorf("PAAS_BUILD_CONCURRENCY: want a whole number of at least 1, not %q", def("PAAS_BUILD_CONCURRENCY", ""))
	}
	fs.IntVar(&c.BuildConc, "build-concurrency", conc, "builds that run at once (PAAS_BUILD_CONCURRENCY)")
	fs.IntVar(&c.KeepReleases, "keep-releases", keep, "newest releases whose images (or slugs) are kept; 0 keeps all (PAAS_KEEP_RELEASES)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch c.Runtime {
	case "exec", "docker", "auto":
	default:
		return c, fmt.Errorf("PAAS_RUNTIME: unknown runtime %q (want docker, exec or auto)", c.Runtime)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return c, fmt.Errorf("PAAS_LOG_FORMAT: want text or json, not %q", c.LogFormat)
	}
	c.Domain = strings.ToLower(strings.TrimSuffix(c.Domain, "."))
	return c, nil
}

// parseDuration accepts Go durations ("30s") and plain seconds ("30").
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

// logAttrs lists the config for the start-up log line.
func (c config) logAttrs() []any {
	return []any{
		"data_dir", c.DataDir, "ssh_addr", c.SSHAddr, "http_addr", c.HTTPAddr,
		"domain", c.Domain, "runtime", c.Runtime, "authorized_keys", c.AuthorizedKeys,
		"stop_timeout", c.StopTimeout, "boot_timeout", c.BootTimeout, "build_timeout", c.BuildTimeout,
		"stack_image", c.StackImage, "build_memory", paas.FormatMemory(c.BuildMemory),
		"max_image_size", paas.FormatMemory(c.MaxImageSize), "keep_releases", c.KeepReleases,
		"release_timeout", c.ReleaseTimeout, "restart_max_delay", c.RestartMax, "build_concurrency", c.BuildConc,
	}
}
