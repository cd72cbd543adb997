package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
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
	// ExecUser names the account whose subordinate ids the exec runtime's
	// apps run as when paasd is root; ExecUserSet says it was chosen
	// (PAAS_EXEC_USER or the flag) rather than left at its default.
	ExecUser     string
	ExecUserSet  bool
	LogFormat    string
	StopTimeout  time.Duration
	BootTimeout  time.Duration
	BuildTimeout time.Duration
	StackImage   string
	// PostgresImage and RedisImage, when set, are the images add-on
	// services of each engine run instead of the ones paasd builds.
	PostgresImage  string
	RedisImage     string
	BuildMemory    int64
	DefaultMemory  int64 // memory limit of an instance or one-off whose type sets none (docker; exec: per process); 0: none
	HostFirewall   bool  // guard the host's ports from containers with iptables (docker)
	MaxImageSize   int64
	KeepBuilds     int
	ReleaseTimeout time.Duration
	RestartMax     time.Duration
	BuildConc      int
	LogRetention   int64 // bytes of log history kept on disk per app
	// BuildpackPaths are server directories whose buildpacks pushers may
	// name by path (PAAS_BUILDPACK_PATHS); none by default.
	BuildpackPaths []string
	// AddonBackups is how many automatic daily backups of each add-on
	// are kept under DataDir/backups (PAAS_ADDON_BACKUPS); 0 takes none.
	AddonBackups int
	// AuditKeep is how many entries of the audit log are kept, the
	// newest (PAAS_AUDIT_KEEP).
	AuditKeep int

	// The SSH gateway's connection limits.
	SSHHandshakeTimeout time.Duration
	SSHIdleTimeout      time.Duration
	SSHMaxUnauth        int
	SSHMaxUnauthSource  int

	// MaxConnsPerClient caps the router connections one IPv4 address or
	// IPv6 /64 holds open at once (trusted proxies are not capped).
	MaxConnsPerClient int

	// The HTTPS front door and its certificates.
	HTTPSAddr string // "" turns HTTPS off
	ACMEEmail string // "" turns ACME off (local CA for *.localhost still works)
	ACMECA    string // ACME directory URL
	// ACMECARoot is a PEM file of roots trusted for the ACME directory's
	// HTTPS (a private CA); "" trusts the system's. ACMERoots holds them.
	ACMECARoot string
	ACMERoots  *x509.CertPool

	// DashboardHost is the web dashboard's host; "" turns it off.
	DashboardHost string

	// The router's limits; each app may override some with proxy:set.
	TrustedProxies  []netip.Prefix // inbound X-Forwarded-* are kept from these peers
	MaxBody         int64
	MaxHeaderBytes  int64
	HeaderTimeout   time.Duration
	IdleTimeout     time.Duration
	ConnectTimeout  time.Duration
	ResponseTimeout time.Duration

	// MetricsAddr is where /metrics is served (Prometheus' text format,
	// plain HTTP); "" (the default) serves none.
	MetricsAddr string

	// Scheduler is where apps run: "local" (this host's runtime) or
	// "swarm" (services of the Docker Swarm the engine manages).
	Scheduler string
	// SwarmManager is the Docker host of a swarm manager; "" means the
	// local engine (DOCKER_HOST).
	SwarmManager string
	// RegistryAddr is HOST:PORT the image registry listens on and the
	// swarm's nodes reach it at; "" means port 5000 of the address the
	// manager advertises to the swarm.
	RegistryAddr string
	// DockerCertsDir is where the local engine reads registry CAs
	// (/etc/docker/certs.d): paasd puts its registry's there.
	DockerCertsDir string
}

// minLogRetention is the smallest log history per app paasd accepts.
const minLogRetention = 64 << 10

// ACME directories known by a short name in PAAS_ACME_CA.
const (
	letsEncryptProduction = "https://acme-v02.api.letsencrypt.org/directory"
	letsEncryptStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// loadConfig reads env (a getenv function) and then args as flags.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	def := func(key, fallback string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return fallback
	}
	var c config
	var keep int
	fs := flag.NewFlagSet("paasd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.DataDir, "data-dir", def("PAAS_DATA_DIR", "./data"), "state directory (PAAS_DATA_DIR)")
	fs.StringVar(&c.SSHAddr, "ssh-addr", def("PAAS_SSH_ADDR", ":2222"), "SSH listen address (PAAS_SSH_ADDR)")
	fs.StringVar(&c.HTTPAddr, "http-addr", def("PAAS_HTTP_ADDR", ":8080"), "HTTP router listen address (PAAS_HTTP_ADDR)")
	fs.StringVar(&c.Domain, "domain", def("PAAS_DOMAIN", "localhost"), "apps are served at APP.DOMAIN (PAAS_DOMAIN)")
	fs.StringVar(&c.Runtime, "runtime", def("PAAS_RUNTIME", "auto"), "process runtime: docker, exec, or auto: docker when an engine answers (PAAS_RUNTIME)")
	fs.StringVar(&c.ExecUser, "exec-user", def("PAAS_EXEC_USER", defaultExecUser), "account whose subordinate uids and gids (/etc/subuid, /etc/subgid) the exec runtime's apps run as, one each, when paasd is root (PAAS_EXEC_USER)")
	fs.StringVar(&c.StackImage, "stack-image", def("PAAS_STACK_IMAGE", "paas/stack:bookworm"), "image builds and instances run on (PAAS_STACK_IMAGE)")
	fs.StringVar(&c.PostgresImage, "postgres-image", def("PAAS_POSTGRES_IMAGE", ""), "image postgres add-ons run instead of the one paasd builds on the stack (PAAS_POSTGRES_IMAGE)")
	fs.StringVar(&c.RedisImage, "redis-image", def("PAAS_REDIS_IMAGE", ""), "image redis add-ons run instead of the one paasd builds on the stack (PAAS_REDIS_IMAGE)")
	fs.StringVar(&c.AuthorizedKeys, "authorized-keys", def("PAAS_AUTHORIZED_KEYS", ""), "authorized_keys file admitted as admins at start (PAAS_AUTHORIZED_KEYS)")
	fs.StringVar(&c.DashboardHost, "dashboard-host", def("PAAS_DASHBOARD_HOST", ""), "the web dashboard's host, off for none (PAAS_DASHBOARD_HOST; default dashboard.DOMAIN)")
	fs.StringVar(&c.HTTPSAddr, "https-addr", def("PAAS_HTTPS_ADDR", ":8443"), "HTTPS router listen address, off for none (PAAS_HTTPS_ADDR)")
	fs.StringVar(&c.Scheduler, "scheduler", def("PAAS_SCHEDULER", "local"), "where apps run: local (this host) or swarm (the Docker Swarm the engine manages) (PAAS_SCHEDULER)")
	fs.StringVar(&c.SwarmManager, "swarm-manager", def("PAAS_SWARM_MANAGER", ""), "Docker host of a swarm manager (unix:///path or tcp://); empty: the local engine (PAAS_SWARM_MANAGER)")
	fs.StringVar(&c.RegistryAddr, "registry-addr", def("PAAS_REGISTRY_ADDR", ""), "HOST:PORT of the image registry the swarm's nodes pull from; empty: port 5000 of the manager's swarm address (PAAS_REGISTRY_ADDR)")
	fs.StringVar(&c.DockerCertsDir, "docker-certs-dir", def("PAAS_DOCKER_CERTS_DIR", "/etc/docker/certs.d"), "where the local Docker engine reads registry CAs (PAAS_DOCKER_CERTS_DIR)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", def("PAAS_METRICS_ADDR", ""), "listen address of /metrics, Prometheus' text format over plain HTTP; empty or off for none (PAAS_METRICS_ADDR)")
	fs.StringVar(&c.ACMEEmail, "acme-email", def("PAAS_ACME_EMAIL", ""), "ACME account email; set it to obtain certificates automatically (PAAS_ACME_EMAIL)")
	fs.StringVar(&c.ACMECA, "acme-ca", def("PAAS_ACME_CA", "production"), "ACME directory URL, or production or staging for Let's Encrypt's (PAAS_ACME_CA)")
	fs.StringVar(&c.ACMECARoot, "acme-ca-root", def("PAAS_ACME_CA_ROOT", ""), "PEM file of roots trusted for the ACME directory's HTTPS, for a private CA (PAAS_ACME_CA_ROOT)")
	fs.Func("trusted-proxies", "comma-separated addresses or CIDRs whose X-Forwarded-* headers are kept (PAAS_TRUSTED_PROXIES)", func(v string) error {
		p, err := parsePrefixes(v)
		c.TrustedProxies = p
		return err
	})
	var err error
	if c.TrustedProxies, err = parsePrefixes(getenv("PAAS_TRUSTED_PROXIES")); err != nil {
		return c, fmt.Errorf("PAAS_TRUSTED_PROXIES: %w", err)
	}
	fs.Func("buildpack-paths", "colon-separated server directories whose buildpacks pushers may name by path (PAAS_BUILDPACK_PATHS)", func(v string) error {
		p, err := parseBuildpackPaths(v)
		c.BuildpackPaths = p
		return err
	})
	if c.BuildpackPaths, err = parseBuildpackPaths(getenv("PAAS_BUILDPACK_PATHS")); err != nil {
		return c, fmt.Errorf("PAAS_BUILDPACK_PATHS: %w", err)
	}
	firewall := def("PAAS_HOST_FIREWALL", "on")
	fs.StringVar(&firewall, "host-firewall", firewall, "on: containers cannot reach this host's ports (iptables rules); off: no rules (PAAS_HOST_FIREWALL)")
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
		{&c.HeaderTimeout, "header-timeout", "PAAS_HEADER_TIMEOUT", 10 * time.Second, "time a client has to send a request's headers"},
		{&c.IdleTimeout, "idle-timeout", "PAAS_IDLE_TIMEOUT", 120 * time.Second, "idle keep-alive connections are closed after this"},
		{&c.ConnectTimeout, "connect-timeout", "PAAS_CONNECT_TIMEOUT", 5 * time.Second, "time to connect to an instance"},
		{&c.ResponseTimeout, "response-timeout", "PAAS_RESPONSE_TIMEOUT", 30 * time.Second, "time an instance has to start its response (then 504)"},
		{&c.SSHHandshakeTimeout, "ssh-handshake-timeout", "PAAS_SSH_HANDSHAKE_TIMEOUT", 20 * time.Second, "time an SSH client has from connecting to being authenticated"},
		{&c.SSHIdleTimeout, "ssh-idle-timeout", "PAAS_SSH_IDLE_TIMEOUT", 10 * time.Minute, "an SSH connection running no command is closed after this"},
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
		parse    func(string) (int64, error)
	}{
		{&c.BuildMemory, "build-memory", "PAAS_BUILD_MEMORY", "2g", "memory limit of a build container", paas.ParseMemory},
		{&c.DefaultMemory, "default-memory", "PAAS_DEFAULT_MEMORY", "512m", "memory limit of an instance whose type sets none (ps:set), 0 for no limit", paas.ParseMemory},
		{&c.MaxImageSize, "max-image-size", "PAAS_MAX_IMAGE_SIZE", "4g", "largest image a build may produce, 0 for no limit", paas.ParseMemory},
		{&c.MaxBody, "max-body", "PAAS_MAX_BODY", "100m", "largest request body (then 413), 0 for no limit", paas.ParseSize},
		{&c.MaxHeaderBytes, "max-header-bytes", "PAAS_MAX_HEADER_BYTES", "16k", "largest request header block (then 431)", paas.ParseSize},
		{&c.LogRetention, "log-retention", "PAAS_LOG_RETENTION", "10m", "log history kept on disk per app", paas.ParseSize},
	}
	for _, sz := range sizes {
		v, err := sz.parse(def(sz.env, sz.fallback))
		if err != nil {
			return c, fmt.Errorf("%s: %w", sz.env, err)
		}
		*sz.p = v
		fs.Func(sz.name, sz.usage+" ("+sz.env+", default "+sz.fallback+")", func(s string) error {
			v, err := sz.parse(s)
			*sz.p = v
			return err
		})
	}
	// PAAS_KEEP_RELEASES is the setting's old name: it always counted
	// builds.
	keepVar, keepVal := "PAAS_KEEP_BUILDS", getenv("PAAS_KEEP_BUILDS")
	if old := getenv("PAAS_KEEP_RELEASES"); old != "" && keepVal == "" {
		keepVar, keepVal = "PAAS_KEEP_RELEASES", old
	} else if old != "" && old != keepVal {
		return c, fmt.Errorf("PAAS_KEEP_BUILDS=%s and its old name PAAS_KEEP_RELEASES=%s disagree: set PAAS_KEEP_BUILDS only", keepVal, old)
	}
	if keepVal == "" {
		keepVal = "10"
	}
	keep, err = strconv.Atoi(keepVal)
	if err != nil || keep < 0 {
		return c, fmt.Errorf("%s: want a whole number, not %q", keepVar, keepVal)
	}
	conc, err := strconv.Atoi(def("PAAS_BUILD_CONCURRENCY", strconv.Itoa(runtime.NumCPU())))
	if err != nil || conc < 1 {
		return c, fmt.Errorf("PAAS_BUILD_CONCURRENCY: want a whole number of at least 1, not %q", def("PAAS_BUILD_CONCURRENCY", ""))
	}
	fs.IntVar(&c.BuildConc, "build-concurrency", conc, "builds that run at once (PAAS_BUILD_CONCURRENCY)")
	counts := []struct {
		p        *int
		name     string
		env      string
		fallback int
		usage    string
	}{
		{&c.SSHMaxUnauth, "ssh-max-unauthenticated", "PAAS_SSH_MAX_UNAUTHENTICATED", 100, "SSH connections waiting to authenticate at once"},
		{&c.SSHMaxUnauthSource, "ssh-max-unauthenticated-per-source", "PAAS_SSH_MAX_UNAUTHENTICATED_PER_SOURCE", 10, "of them from one IPv4 address or IPv6 /64"},
		{&c.AuditKeep, "audit-keep", "PAAS_AUDIT_KEEP", 10000, "audit log entries kept, the newest"},
		{&c.MaxConnsPerClient, "max-conns-per-client", "PAAS_MAX_CONNS_PER_CLIENT", 1000, "HTTP(S) connections one IPv4 address or IPv6 /64 holds open at once; more are closed at once"},
	}
	for _, n := range counts {
		v := n.fallback
		if s := getenv(n.env); s != "" {
			if v, err = strconv.Atoi(s); err != nil || v < 1 {
				return c, fmt.Errorf("%s: want a whole number of at least 1, not %q", n.env, s)
			}
		}
		fs.IntVar(n.p, n.name, v, n.usage+" ("+n.env+")")
	}
	fs.IntVar(&c.KeepBuilds, "keep-builds", keep, "newest builds whose images (or slugs) are kept, besides the current one; 0 keeps all (PAAS_KEEP_BUILDS)")
	fs.IntVar(&c.KeepBuilds, "keep-releases", keep, "old name of -keep-builds (PAAS_KEEP_RELEASES)")
	backups, err := strconv.Atoi(def("PAAS_ADDON_BACKUPS", "7"))
	if err != nil || backups < 0 {
		return c, fmt.Errorf("PAAS_ADDON_BACKUPS: want a whole number, not %q", def("PAAS_ADDON_BACKUPS", "7"))
	}
	fs.IntVar(&c.AddonBackups, "addon-backups", backups, "automatic daily backups kept of each add-on; 0 takes none (PAAS_ADDON_BACKUPS)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.SSHHandshakeTimeout <= 0 || c.SSHIdleTimeout <= 0 {
		return c, fmt.Errorf("PAAS_SSH_HANDSHAKE_TIMEOUT and PAAS_SSH_IDLE_TIMEOUT: want more than 0")
	}
	if c.AuditKeep < 1 {
		return c, fmt.Errorf("PAAS_AUDIT_KEEP: want at least 1")
	}
	if c.SSHMaxUnauth < 1 || c.SSHMaxUnauthSource < 1 {
		return c, fmt.Errorf("PAAS_SSH_MAX_UNAUTHENTICATED and PAAS_SSH_MAX_UNAUTHENTICATED_PER_SOURCE: want at least 1")
	}
	c.ExecUserSet = getenv("PAAS_EXEC_USER") != ""
	fs.Visit(func(f *flag.Flag) { c.ExecUserSet = c.ExecUserSet || f.Name == "exec-user" })
	if !accountName.MatchString(c.ExecUser) {
		return c, fmt.Errorf("PAAS_EXEC_USER: %q is not an account name (lower-case letters, digits, _ and -, up to 32)", c.ExecUser)
	}
	if c.LogRetention < minLogRetention {
		return c, fmt.Errorf("PAAS_LOG_RETENTION: want at least 64k, not %d bytes", c.LogRetention)
	}
	switch c.Runtime {
	case "exec", "docker", "auto":
	default:
		return c, fmt.Errorf("PAAS_RUNTIME: unknown runtime %q (want docker, exec or auto)", c.Runtime)
	}
	switch c.Scheduler {
	case "local":
	case "swarm":
		if c.Runtime == "exec" {
			return c, fmt.Errorf("PAAS_SCHEDULER=swarm runs apps as Docker services: it needs PAAS_RUNTIME=docker or auto, not exec")
		}
		if c.RegistryAddr != "" {
			if _, _, err := net.SplitHostPort(c.RegistryAddr); err != nil {
				return c, fmt.Errorf("PAAS_REGISTRY_ADDR: want HOST:PORT, not %q", c.RegistryAddr)
			}
		}
	default:
		return c, fmt.Errorf("PAAS_SCHEDULER: unknown scheduler %q (want local or swarm)", c.Scheduler)
	}
	switch firewall {
	case "on":
		c.HostFirewall = true
	case "off":
	default:
		return c, fmt.Errorf("PAAS_HOST_FIREWALL: want on or off, not %q", firewall)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return c, fmt.Errorf("PAAS_LOG_FORMAT: want text or json, not %q", c.LogFormat)
	}
	c.Domain = strings.ToLower(strings.TrimSuffix(c.Domain, "."))
	if c.DashboardHost, err = dashboardHost(c.DashboardHost, c.Domain); err != nil {
		return c, err
	}
	if c.HTTPSAddr == "off" {
		c.HTTPSAddr = ""
	}
	if err := checkMetricsAddr(&c.MetricsAddr); err != nil {
		return c, err
	}
	switch c.ACMECA {
	case "production", "":
		c.ACMECA = letsEncryptProduction
	case "staging":
		c.ACMECA = letsEncryptStaging
	default:
		if u, err := url.Parse(c.ACMECA); err != nil || u.Scheme != "https" || u.Host == "" {
			return c, fmt.Errorf("PAAS_ACME_CA: want production, staging or an https:// directory URL, not %q", c.ACMECA)
		}
	}
	if c.ACMECARoot != "" {
		roots, err := loadRoots(c.ACMECARoot)
		if err != nil {
			return c, err
		}
		c.ACMERoots = roots
	}
	if c.MaxHeaderBytes < 1024 {
		return c, fmt.Errorf("PAAS_MAX_HEADER_BYTES: want at least 1k")
	}
	return c, nil
}

// parsePrefixes reads a comma-separated list of addresses and CIDRs; a
// bare address is a prefix of its full length.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// parseBuildpackPaths reads a colon-separated list of absolute paths of
// existing directories.
func parseBuildpackPaths(s string) ([]string, error) {
	var out []string
	for _, p := range filepath.SplitList(s) {
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("%q is not an absolute path", p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", p)
		}
		out = append(out, filepath.Clean(p))
	}
	return out, nil
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
		"domain", c.Domain, "runtime", c.Runtime, "exec_user", c.ExecUser, "authorized_keys", c.AuthorizedKeys,
		"stop_timeout", c.StopTimeout, "boot_timeout", c.BootTimeout, "build_timeout", c.BuildTimeout,
		"stack_image", c.StackImage, "postgres_image", c.PostgresImage, "redis_image", c.RedisImage, "build_memory", paas.FormatMemory(c.BuildMemory),
		"default_memory", paas.FormatMemory(c.DefaultMemory), "host_firewall", c.HostFirewall,
		"max_image_size", paas.FormatMemory(c.MaxImageSize), "keep_builds", c.KeepBuilds,
		"release_timeout", c.ReleaseTimeout, "restart_max_delay", c.RestartMax, "build_concurrency", c.BuildConc,
		"https_addr", c.HTTPSAddr, "dashboard_host", c.DashboardHost, "acme_email", c.ACMEEmail, "acme_ca", c.ACMECA, "trusted_proxies", c.TrustedProxies,
		"max_body", paas.FormatMemory(c.MaxBody), "max_header_bytes", c.MaxHeaderBytes,
		"header_timeout", c.HeaderTimeout, "idle_timeout", c.IdleTimeout,
		"connect_timeout", c.ConnectTimeout, "response_timeout", c.ResponseTimeout,
		"ssh_handshake_timeout", c.SSHHandshakeTimeout, "ssh_idle_timeout", c.SSHIdleTimeout,
		"ssh_max_unauthenticated", c.SSHMaxUnauth, "ssh_max_unauthenticated_per_source", c.SSHMaxUnauthSource,
		"max_conns_per_client", c.MaxConnsPerClient,
		"buildpack_paths", c.BuildpackPaths, "addon_backups", c.AddonBackups,
		"audit_keep", c.AuditKeep, "metrics_addr", c.MetricsAddr,
		"scheduler", c.Scheduler, "swarm_manager", c.SwarmManager, "registry_addr", c.RegistryAddr,
	}
}

// loadRoots reads a PEM file of CA certificates.
func loadRoots(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("PAAS_ACME_CA_ROOT: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("PAAS_ACME_CA_ROOT: no PEM certificate in %s", path)
	}
	return roots, nil
}
