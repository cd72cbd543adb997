package addons

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// Labels on the containers, volumes and images of services. Containers
// and volumes also carry the runtime's paas.managed and paas.owner.
const (
	LabelAddon   = "paas.addon"         // the service's name
	LabelEngine  = "paas.addon.engine"  // postgres or redis
	LabelVersion = "paas.addon.version" // the engine's version, on images
	LabelUser    = "paas.addon.user"    // "uid:gid" of the engine's user, on images
	labelManaged = "paas.managed"
	labelOwner   = "paas.owner"
	labelApp     = "paas.app"
)

// idleNetwork is the network a service is on until (and besides) the apps
// it is attached to: internal, without traffic between its containers,
// and guarded from the host, it reaches nothing. A container created on
// network mode "none" could not join another network later.
const idleNetwork = "paas_addons"

// stopTimeout is how long a service has to shut down cleanly before the
// engine kills it.
const stopTimeout = 30 * time.Second

// readyTimeout bounds the wait for a new service to accept requests.
const readyTimeout = 2 * time.Minute

// Docker runs services as containers on the Docker engine, one container
// and one data volume per service. It is safe for concurrent use.
type Docker struct {
	cfg DockerConfig
	api *client.Client
	log *slog.Logger

	imageMu   sync.Mutex // serializes image builds
	versionMu sync.Mutex
	versions  map[string]string // image ID -> version, of images without LabelVersion
	restoreMu sync.Mutex        // serializes restores
	redisPass credentialMarks   // where redis services' connections stood at their newest password
	follow    follower
	netMu     sync.Mutex // serializes making idleNetwork
}

// DockerConfig configures Docker.
type DockerConfig struct {
	// Client talks to the engine; required.
	Client *client.Client
	// Owner is the paas.owner label value, as the runtime uses.
	Owner string
	// StackImage is the image the service images are built FROM;
	// required.
	StackImage string
	// Memory is the memory limit in bytes of each service container; 0:
	// none.
	Memory int64
	// PidsLimit caps the processes of each service container; 512 when
	// zero.
	PidsLimit int64
	// Network returns the name of app's private network, creating and
	// guarding it when missing (runtime.(*Docker).EnsureNetwork); required.
	Network func(ctx context.Context, app string) (string, error)
	// BuildNetwork, when set, returns the network the image builds' RUN
	// steps use (the builder's guarded build network); else they use the
	// engine's default bridge.
	BuildNetwork func(ctx context.Context) (string, error)
	// Guard, when set, keeps the containers on idleNetwork's bridge from
	// reaching the host (netguard.Guard does).
	Guard HostGuard
	// Images names, by engine, the image that engine's services run
	// instead of the one paas builds (PAAS_POSTGRES_IMAGE,
	// PAAS_REDIS_IMAGE). Such an image follows the service-image
	// contract: labels LabelEngine and LabelUser, the run script as its
	// command, the engine's version in versionFile.
	Images map[string]string
	// SecurityMirror is the archive of the stack suite's security
	// updates the image builds apply (stack.HostSecurityMirror);
	// stack.DefaultSecurityMirror when empty.
	SecurityMirror string
	// Lines, when set, receives every output line of every service from
	// the moment Follow follows it, in batches (the slices are the
	// callee's). It is called from several goroutines at once, one per
	// service, and must not block for long.
	Lines  func(name string, lines [][]byte)
	Logger *slog.Logger
}

// HostGuard keeps the containers on a bridge interface from reaching the
// host's own ports.
type HostGuard interface {
	Protect(ctx context.Context, iface string) error
	Release(ctx context.Context, iface string) error
}

// defaultPidsLimit is the pids limit when DockerConfig.PidsLimit is zero.
const defaultPidsLimit = 512

// NewDocker returns a Docker after checking that the engine answers.
func NewDocker(cfg DockerConfig) (*Docker, error) {
	if cfg.Client == nil {
		return nil, errors.New("add-ons: no engine client")
	}
	if cfg.StackImage == "" {
		return nil, errors.New("add-ons: no stack image")
	}
	if cfg.Network == nil {
		return nil, errors.New("add-ons: no app network")
	}
	if cfg.PidsLimit == 0 {
		cfg.PidsLimit = defaultPidsLimit
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Docker{cfg: cfg, api: cfg.Client, log: log}, nil
}

// containerName is the name of service name's container.
func containerName(name string) string { return "paas.addon." + name }

// volumeName is the name of service name's data volume.
func volumeName(name string) string { return "paas-addon-" + name }

// labels are the labels of service name's container and volume.
func (d *Docker) labels(name string, e *engine) map[string]string {
	l := map[string]string{labelManaged: "true", LabelAddon: name, LabelEngine: e.name}
	if d.cfg.Owner != "" {
		l[labelOwner] = d.cfg.Owner
	}
	return l
}

// engineError wraps an error of the engine's API.
func engineError(doing string, err error) error {
	return fmt.Errorf("%s: %w", doing, err)
}
