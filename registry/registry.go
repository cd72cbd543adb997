// Package registry is the image registry paasd runs itself, so that
// every node of a swarm pulls the images of releases from it: the
// distribution registry's own handler, its blobs under a directory on
// disk, served over TLS with a certificate from a CA of the registry's
// own (which each node trusts for this registry alone), behind one
// account whose password only paasd knows.
package registry

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/distribution/distribution/v3/registry/storage"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"golang.org/x/crypto/bcrypt"

	// The registry's account check.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
)

// User is the name of the registry's one account.
const User = "paas"

// Config says where the registry keeps its data and what it is reached
// at.
type Config struct {
	// Dir holds the CA (ca.crt, ca.key), the account (password,
	// htpasswd) and the blobs (storage/); it is made when missing.
	Dir string
	// Addr is HOST:PORT as engines reach the registry: the prefix of
	// image references (see Ref). Its host is in the certificate.
	Addr string
	// CertFor are more host names or IP addresses the certificate is
	// valid for.
	CertFor []string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives the handler's warnings and errors (slog.Default()
	// when nil).
	Log *slog.Logger
}

// Registry is a running registry.
type Registry struct {
	cfg      Config
	ca       *ca
	password string
	app      *handlers.App
	srv      *http.Server
	driver   *filesystem.Driver
	ns       distribution.Namespace

	// lock is read-held by every request and held by GC, which must
	// not sweep a blob a request is writing or reading.
	lock sync.RWMutex
}

// New makes the registry's directory, CA and account the first time,
// reads them later, and prepares the handler.
func New(cfg Config) (*Registry, error) {
	if cfg.Dir == "" {
		return nil, errors.New("the registry needs a directory")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	routeLogs(cfg.Log)
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("making the registry's directory: %w", err)
	}
	hosts := append([]string(nil), cfg.CertFor...)
	if cfg.Addr != "" {
		h, _, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("the registry's address %q: %w", cfg.Addr, err)
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return nil, errors.New("the registry's certificate needs a host (Addr or CertFor)")
	}
	c, err := loadCA(cfg.Dir, hosts, cfg.Now)
	if err != nil {
		return nil, err
	}
	password, err := account(cfg.Dir)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(cfg.Dir, "storage")
	conf := &configuration.Configuration{
		Storage: configuration.Storage{
			"filesystem": configuration.Parameters{"rootdirectory": root},
			"delete":     configuration.Parameters{"enabled": true},
			// Uploads cut short are swept by GC, not by a timer of
			// the handler's.
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		},
		Auth: configuration.Auth{"htpasswd": configuration.Parameters{
			"realm": "paas", "path": filepath.Join(cfg.Dir, "htpasswd"),
		}},
	}
	conf.HTTP.Secret = password
	// No blob descriptor cache: GC removes blobs behind the handler's
	// back, and a cached descriptor would tell a pusher a swept blob is
	// still there.
	app := handlers.NewApp(context.Background(), conf)
	driver := filesystem.New(filesystem.DriverParameters{RootDirectory: root, MaxThreads: 25})
	ns, err := storage.NewRegistry(context.Background(), driver, storage.EnableDelete)
	if err != nil {
		return nil, fmt.Errorf("opening the registry's storage: %w", err)
	}
	r := &Registry{cfg: cfg, ca: c, password: password, app: app, driver: driver, ns: ns}
	r.srv = &http.Server{
		Handler:   http.HandlerFunc(r.serveHTTP),
		TLSConfig: &tls.Config{GetCertificate: c.certificate, MinVersion: tls.VersionTLS12},
		// Handshakes of clients that do not trust the CA (yet).
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return r, nil
}

// account reads the account's password, making it and its htpasswd
// entry the first time.
func account(dir string) (string, error) {
	file := filepath.Join(dir, "password")
	if b, err := os.ReadFile(file); err == nil {
		if p := strings.TrimSpace(string(b)); p != "" {
			return p, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading the registry's password: %w", err)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	password := hex.EncodeToString(b[:])
	// The handler checks the hash at every request; a password of 192
	// random bits needs no cost on top to resist guessing.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return "", err
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	os.Remove(htpasswd)
	if err := writeNew(htpasswd, []byte(User+":"+string(hash)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the registry's htpasswd: %w", err)
	}
	os.Remove(file)
	if err := writeNew(file, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the registry's password: %w", err)
	}
	return password, nil
}

func (r *Registry) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	r.app.ServeHTTP(w, req)
}

// Serve serves the registry over TLS on ln until Shutdown.
func (r *Registry) Serve(ln net.Listener) error {
	if err := r.srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops serving, letting requests under way finish until ctx
// ends.
func (r *Registry) Shutdown(ctx context.Context) error {
	err := r.srv.Shutdown(ctx)
	return errors.Join(err, r.app.Shutdown())
}

// CACertPEM is the registry's CA certificate: a node trusts it for this
// registry in /etc/docker/certs.d/HOST:PORT/ca.crt.
func (r *Registry) CACertPEM() []byte {
	return append([]byte(nil), r.ca.certPEM...)
}

// Credentials are the account's name and password (docker login, or the
// registry auth of a swarm service).
func (r *Registry) Credentials() (user, password string) {
	return User, r.password
}

// Ref is the reference of repo:tag in this registry (Config.Addr).
func (r *Registry) Ref(repo, tag string) string {
	return r.cfg.Addr + "/" + repo + ":" + tag
}
