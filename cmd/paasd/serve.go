package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"paas"
	"paas/addons"
	"paas/builder"
	"paas/certs"
	"paas/deploy"
	"paas/drains"
	"paas/gateway"
	"paas/internal/durable"
	"paas/logs"
	"paas/router"
	"paas/runtime"
	"paas/stack"
	"paas/store"
)

// logLinesPerApp is how many recent log lines each app keeps in memory.
const logLinesPerApp = 2000

// serve wires every part and runs until ctx ends, then shuts down:
// stop accepting SSH and HTTP, stop the instances with their grace period,
// close the store.
func serve(ctx context.Context, cfg config, stdout io.Writer) error {
	log := newLogger(cfg.LogFormat, stdout)
	log.Info("paasd starting", append([]any{"version", paas.Version}, cfg.logAttrs()...)...)

	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := durable.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	// The keys file is checked before a running paasd is asked to hand
	// over: a line paasd cannot honour stops this one, not that one.
	var admitted []paas.Key
	if cfg.AuthorizedKeys != "" {
		if admitted, err = readAuthorizedKeysFile(cfg.AuthorizedKeys); err != nil {
			return fmt.Errorf("PAAS_AUTHORIZED_KEYS: %w", err)
		}
	}
	// Apps the swarm runs are not moved back under the local scheduler:
	// the running paasd keeps them rather than hand over to one that
	// would run them twice.
	if cfg.Scheduler != "swarm" && cfg.Runtime != "exec" {
		if cli, err := dockerClient(ctx); err == nil {
			err = refuseSwarmLeftovers(ctx, cfg, cli, ownerLabel(dataDir))
			cli.Close()
			if err != nil {
				return err
			}
		}
	}
	// A paasd already running on this data dir hands over to this one.
	succ, inherited, inheritedTLS, err := takeOver(dataDir)
	if err != nil {
		return err
	}
	if succ != nil {
		log.Info("taking over from the running paasd")
	}
	st, err := store.Open(filepath.Join(dataDir, "paas.db"))
	if err != nil {
		return err
	}
	var closeStore sync.Once
	releaseStore := func() { closeStore.Do(func() { st.Close() }) }
	defer releaseStore()
	if cfg.AuthorizedKeys != "" {
		if err := admitKeys(log, st, admitted); err != nil {
			return fmt.Errorf("admitting PAAS_AUTHORIZED_KEYS: %w", err)
		}
		log.Info("admitted keys", "file", cfg.AuthorizedKeys, "count", len(admitted))
	}
	if err := warnWithoutAdmin(log, st); err != nil {
		return err
	}

	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding own executable: %w", err)
	}
	agg, err := logs.Open(logs.Config{
		Dir: filepath.Join(dataDir, "logs"), Retention: cfg.LogRetention, TailLines: logLinesPerApp,
		Logger: log.With("part", "logs"),
	})
	if err != nil {
		return err
	}
	defer agg.Close()
	// The history is the data directory's too: a paasd handing over
	// closes it with the store, before its successor opens it.
	closeStoreOnly := releaseStore
	releaseStore = func() { agg.Close(); closeStoreOnly() }
	agg.Announce("api", "paasd started")
	// Log drains start before any instance does, so they see its first
	// lines; they stop (after a short grace to deliver) before the
	// aggregator closes.
	pm := newPlatformMetrics(cfg, log)
	logDrains := drains.New(drains.Config{Logs: agg, Store: drainStore{st, log.With("part", "drains")}, Logger: log.With("part", "drains"), Dropped: pm.dropped})
	if err := logDrains.Start(); err != nil {
		return err
	}
	defer logDrains.Close()
	cli, err := pickRuntime(ctx, cfg, log)
	if err != nil {
		return err
	}
	picked := "exec"
	if cli != nil {
		picked = "docker"
	}
	if err := checkRuntime(st, cfg.Runtime, picked, log); err != nil {
		if cli != nil {
			cli.Close()
		}
		return err
	}
	var svc *deploy.Service
	var engineSvc atomic.Pointer[deploy.Service]
	onExit := func(e runtime.Exit) { svc.OnExit(e) }
	bcfg := builder.Config{
		BuildpacksDir: filepath.Join(dataDir, "buildpacks"),
		CacheDir:      filepath.Join(dataDir, "cache"),
		SlugsDir:      filepath.Join(dataDir, "slugs"),
		StaticServer:  exe,
		Timeout:       cfg.BuildTimeout,
		Logger:        log.With("part", "builder"),
		// Git buildpacks are fetched by this binary, run as a build step.
		Binary:         exe,
		BuildpackPaths: cfg.BuildpackPaths,
		RunDir:         filepath.Join(dataDir, "run", "builds"),
		Owner:          ownerLabel(dataDir),
	}
	var rt deploy.Runtime
	var swarmed *swarmParts           // PAAS_SCHEDULER=swarm
	var services addonBackend         // backing services
	var dockerServices *addons.Docker // the docker runtime's
	lines := &addonLines{}            // their output, to the apps' streams
	confine := false                  // apps run as users of their own: close the data dir to them
	if cli != nil {
		defer cli.Close()
		dcfg := runtime.DockerConfig{
			Client: cli, Logs: agg, OnExit: onExit, Owner: ownerLabel(dataDir), Logger: log.With("part", "runtime"),
			// The engine may come and go before the service exists.
			OnEngine: func(e runtime.EngineEvent) {
				if s := engineSvc.Load(); s != nil {
					s.OnEngine(e)
				}
			},
			DefaultMemory: cfg.DefaultMemory,
			HolderImage:   cfg.StackImage,
		}
		guard, err := hostGuard(ctx, cfg, cli, log)
		if err != nil {
			return err
		}
		if guard != nil {
			dcfg.Guard, bcfg.Guard = guard, guard
		}
		d, err := runtime.NewDocker(ctx, dcfg)
		if err != nil {
			return err
		}
		rt = d
		addonNet := d.EnsureNetwork
		if cfg.Scheduler == "swarm" {
			sw, err := setupSwarm(ctx, cfg, dataDir, cli, runtime.SwarmConfig{
				Logs: agg, OnExit: onExit, Owner: ownerLabel(dataDir), DefaultMemory: cfg.DefaultMemory,
				Logger: log.With("part", "runtime"),
			}, log)
			if err != nil {
				return err
			}
			defer sw.close()
			swarmed = sw
			// Instances a local scheduler left on this engine are
			// adopted and replaced on the swarm by the first converge,
			// with no downtime.
			rt = runtime.Moving{From: d, To: sw.rt}
			if sw.mgr == cli {
				// Backing services run on this engine, a node of the
				// swarm: on the app's overlay network, every node's
				// instances reach them.
				addonNet = sw.rt.EnsureNetwork
			} else {
				log.Warn("add-ons run on the local engine, which is not the swarm's manager: the apps' instances on the swarm cannot reach them")
			}
		}
		acfg := addons.DockerConfig{
			Client: cli, Owner: ownerLabel(dataDir), StackImage: cfg.StackImage, Memory: cfg.DefaultMemory,
			Network: addonNet, Logger: log.With("part", "addons"),
			Images:         map[string]string{addons.Postgres: cfg.PostgresImage, addons.Redis: cfg.RedisImage},
			SecurityMirror: stack.HostSecurityMirror("/etc/apt"),
			Lines:          lines.Lines,
		}
		if guard != nil {
			acfg.Guard = guard
		}
		if dockerServices, err = addons.NewDocker(acfg); err != nil {
			return err
		}
		services = dockerServices
		bcfg.Docker = cli
		bcfg.StackImage = cfg.StackImage
		bcfg.BuildMemory = cfg.BuildMemory
		bcfg.MaxImageSize = cfg.MaxImageSize
	} else {
		users, err := setupExecUsers(cfg, st, log)
		if err != nil {
			return err
		}
		ecfg := runtime.ExecConfig{
			Logs: agg, OnExit: onExit, StateDir: filepath.Join(dataDir, "run", "exec"), Logger: log.With("part", "runtime"),
			DefaultMemory: cfg.DefaultMemory,
		}
		if users != nil {
			if err := checkReachable(dataDir, exe); err != nil {
				return err
			}
			ecfg.Credential, bcfg.Credential = users.Credential, users.Credential
			confine = true
		}
		e := runtime.NewExec(ecfg)
		// Backing services outlive paasd: Supervise adopts the ones an
		// earlier paasd started and returns without stopping them.
		execServices, err := execAddons(dataDir, users, lines.Lines, log.With("part", "addons"))
		if err != nil {
			return err
		}
		go execServices.Supervise(ctx)
		services = execServices
		// Instances an earlier paasd left behind when it was killed are
		// stopped; the formation is started afresh from the store. (A
		// paasd handing over stops its own once this one serves.)
		if succ == nil {
			if n, err := e.ReapOrphans(); err != nil {
				log.Error("stopping processes left by an earlier run", "err", err)
			} else if n > 0 {
				log.Info("stopped processes left by an earlier run", "count", n)
			}
		}
		rt = e
	}
	b, err := builder.New(bcfg)
	if err != nil {
		return err
	}
	defer b.Close()
	// Builds an earlier paasd was running when it was killed are stopped,
	// and their scratch dirs (the apps' config as ENV_DIR) removed. (A
	// paasd handing over finishes or cleans up its own.)
	if succ == nil {
		if n, err := b.ReapOrphans(ctx); err != nil {
			log.Error("cleaning up builds left by an earlier run", "err", err)
		} else if n != (builder.Reaped{}) {
			log.Info("cleaned up builds left by an earlier run", "processes", n.Processes, "containers", n.Containers, "scratch_dirs", n.Scratch)
		}
	}
	var bld deploy.Builder = b
	if cli != nil {
		work := filepath.Join(dataDir, "tmp")
		if err := os.MkdirAll(work, 0o700); err != nil {
			return err
		}
		sb := stackBuilder{Builder: b, cli: cli, image: cfg.StackImage, workDir: work}
		if swarmed != nil {
			sb.registry = registryPruner{reg: swarmed.reg, log: log.With("part", "registry")}
		}
		bld = sb
	}

	httpLn := inherited
	if httpLn == nil {
		if httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("listening for HTTP: %w", err)
		}
	}
	httpsLn, err := listenHTTPS(cfg.HTTPSAddr, inheritedTLS)
	if err != nil {
		httpLn.Close()
		return err
	}
	appURL := urlFunc(cfg.Domain, httpLn.Addr())
	rtr := router.New(router.Config{
		Domain:                cfg.Domain,
		MaxBody:               cfg.MaxBody,
		TrustedProxies:        cfg.TrustedProxies,
		DialTimeout:           cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.ResponseTimeout,
		HTTPSPort:             listenerPort(httpsLn),
		Logger:                log.With("part", "router"),
		AccessLog:             func(app, line string) { agg.Write(app, "paas", "router", line) },
		Observe:               pm.reg.Request,
	})
	dash := &dashboardSite{}
	dash.sessions = st
	tlsCerts, err := newCertManager(cfg, dataDir, st, rtr, httpLn, httpsLn, dash.serves, log)
	if err != nil {
		return err
	}
	defer tlsCerts.Close()
	if err := tlsCerts.RemoveGone(appExists(st)); err != nil {
		log.Error("removing the certificates of destroyed apps", "err", err)
	}
	scfg := deploy.Config{
		Store:            st,
		Runtime:          rt,
		Builder:          bld,
		Router:           rtr,
		Logs:             agg,
		AppURL:           appURL,
		Domain:           cfg.Domain,
		StopTimeout:      cfg.StopTimeout,
		BootTimeout:      cfg.BootTimeout,
		KeepBuilds:       cfg.KeepBuilds,
		ReleaseTimeout:   cfg.ReleaseTimeout,
		RestartMaxDelay:  cfg.RestartMax,
		BuildConcurrency: cfg.BuildConc,
		CheckConfig:      b.CheckConfig,
		Logger:           log.With("part", "deploy"),
		Phase:            killAt(),
		Observer:         pm.observer(),
		DebugTiming:      os.Getenv("PAAS_DEBUG_TIMING") == "1",
	}
	if services != nil {
		useAddons(&scfg, services, filepath.Join(dataDir, "backups"), cfg.AddonBackups)
	}
	svc = deploy.New(scfg)
	if swarmed != nil {
		swarmed.svc.Store(svc)
	}
	engineSvc.Store(svc)
	lines.svc.Store(svc)
	audit := auditLog{st: st, keep: cfg.AuditKeep}
	dash.metrics = pm.reg
	gwPlatform, err := dash.setUp(cfg, platform{Service: svc, certs: tlsCerts, drains: logDrains}, audit, listenerPort(httpsLn), log)
	if err != nil {
		return err
	}
	gcfg := gateway.Config{
		Addr:               cfg.SSHAddr,
		HostKeyFile:        filepath.Join(dataDir, "ssh_host_ed25519_key"),
		ReposDir:           filepath.Join(dataDir, "repos"),
		RunDir:             filepath.Join(dataDir, "run"),
		HookCommand:        []string{exe, "hook"},
		SourceFetchCommand: sourceFetchCommand(exe),
		AppURL:             appURL,
		Platform:           gwPlatform,
		Audit:              pm.audit(audit),
		Dashboard:          dash.tokens(),
		Metrics:            pm.reg,
		Logger:             log.With("part", "gateway"),
		Limits: gateway.ConnLimits{
			HandshakeTimeout:            cfg.SSHHandshakeTimeout,
			IdleTimeout:                 cfg.SSHIdleTimeout,
			MaxUnauthenticated:          cfg.SSHMaxUnauth,
			MaxUnauthenticatedPerSource: cfg.SSHMaxUnauthSource,
		},
	}
	if swarmed != nil {
		gcfg.Nodes = swarmed.nodes
	}
	gw, err := gateway.New(gcfg)
	if err != nil {
		return err
	}
	if err := gw.Listen(); err != nil {
		httpLn.Close()
		return err
	}

	if confine {
		if err := confineDataDir(dataDir); err != nil {
			return err
		}
	}
	if err := recordRuntime(st, picked); err != nil {
		return err
	}
	if err := pm.start(ctx, st, rt, agg.Written, succ != nil); err != nil {
		return err
	}
	defer pm.shutdown(context.Background())
	// Routes are rebuilt from the store before any request is accepted.
	if err := svc.Start(ctx); err != nil {
		return err
	}
	dash.pickHost(cfg, rtr.AppFor, log)
	if dockerServices != nil {
		// Services on an outdated image are recreated in the background
		// (it may build the image); Follow picks up the new containers.
		go dockerServices.Follow(ctx)
		go func() {
			if err := dockerServices.Upgrade(ctx); err != nil {
				log.Warn("upgrading add-on services", "err", err)
			}
		}()
	}
	// While handing over to a successor, responses say Connection: close:
	// clients then leave this process's connections on their own, and none
	// is closed under a request that is being sent.
	var handingOver atomic.Bool
	limits := router.ServerLimits{
		HeaderTimeout:  cfg.HeaderTimeout,
		IdleTimeout:    cfg.IdleTimeout,
		MaxHeaderBytes: int(cfg.MaxHeaderBytes),
	}
	// The HTTP listener: the router's fast path, which hands anything
	// unusual to the general one (the dashboard's host included).
	dashOr := dash.wrap(rtr)
	general := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if handingOver.Load() {
			w.Header().Set("Connection", "close")
		}
		dashOr.ServeHTTP(w, r)
	})
	// ACME HTTP-01 challenges are answered on the HTTP listener.
	httpSrv := router.NewFront(rtr, limits, tlsCerts.HTTPHandler(general))
	errc := make(chan error, 3)
	clientCap := router.ClientCap{Max: cfg.MaxConnsPerClient, Exempt: cfg.TrustedProxies, Refused: capWarning(log)}
	go func() { errc <- httpSrv.Serve(clientCap.Listener(httpLn)) }()
	go func() { errc <- gw.Serve() }()
	// The HTTPS listener: the general path over TLS, HTTP/2 included.
	var httpsSrv *http.Server
	listening := []any{"ssh", gw.Addr().String(), "http", httpLn.Addr().String()}
	if httpsLn != nil {
		httpsSrv = limits.Server(cfg.HTTPSAddr, general)
		httpsSrv.TLSConfig = tlsCerts.TLSConfig()
		httpsSrv.ErrorLog = slog.NewLogLogger(log.With("part", "https").Handler(), slog.LevelDebug)
		go func() { errc <- router.ServeTLS(httpsSrv, clientCap.Listener(httpsLn)) }()
		listening = append(listening, "https", httpsLn.Addr().String())
	}
	log.Info("listening", listening...)
	var predecessorGone <-chan struct{}
	if succ != nil {
		predecessorGone = succ.ready(cfg.StopTimeout + time.Minute)
	} else {
		none := make(chan struct{})
		close(none)
		predecessorGone = none
	}
	go func() {
		// Instances on where the apps move from (the local engine,
		// under a new PAAS_SCHEDULER=swarm) are replaced once no
		// other paasd supervises them.
		select {
		case <-predecessorGone:
			svc.MoveLeaving(ctx)
		case <-ctx.Done():
		}
	}()
	pred, err := listenHandoff(dataDir)
	if err != nil {
		return err
	}
	defer pred.close()

	var takeover *net.UnixConn
	select {
	case <-ctx.Done():
	case err = <-errc:
		log.Error("server failed", "err", err)
	case takeover = <-pred.requests:
		pred.ln.SetUnlinkOnClose(false)
	}
	// Open SSH sessions (a `logs -t`, a one-off) get a few seconds.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gw.Shutdown(sctx)
	dash.close()
	if takeover != nil {
		log.Info("handing over to a new paasd")
		if err := handOver(takeover, httpLn, httpsLn, releaseStore); err != nil {
			log.Error("handing over", "err", err)
		}
		handingOver.Store(true)
		httpSrv.SetDraining(true)
		if httpsSrv != nil {
			httpsSrv.SetKeepAlivesEnabled(false)
		}
		time.Sleep(2 * time.Second)
	} else {
		log.Info("shutting down")
	}
	hctx, hcancel := context.WithTimeout(context.Background(), cfg.StopTimeout)
	defer hcancel()
	httpSrv.Shutdown(hctx)
	if httpsSrv != nil {
		httpsSrv.Shutdown(hctx)
	}
	// Then the instances get their grace period (docker ones are left
	// running for the next paasd).
	ictx, icancel := context.WithTimeout(context.Background(), cfg.StopTimeout+5*time.Second)
	defer icancel()
	svc.Shutdown(ictx)
	if takeover != nil {
		takeover.Close()
	}
	log.Info("stopped")
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// urlFunc returns the function giving an app's URL on the router.
func urlFunc(domain string, addr net.Addr) func(string) string {
	port := ""
	if ta, ok := addr.(*net.TCPAddr); ok && ta.Port != 80 {
		port = fmt.Sprintf(":%d", ta.Port)
	}
	return func(app string) string { return "http://" + app + "." + domain + port }
}

// ownerLabel names this paasd's containers on a shared engine: the same
// data directory is the same platform across restarts.
func ownerLabel(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return "paasd-" + hex.EncodeToString(sum[:6])
}

// listenHTTPS returns the HTTPS listener: the one a predecessor handed
// over, else a new one on addr; nil when addr is empty (HTTPS off).
func listenHTTPS(addr string, inherited net.Listener) (net.Listener, error) {
	if addr == "" {
		if inherited != nil {
			inherited.Close()
		}
		return nil, nil
	}
	if inherited != nil {
		return inherited, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for HTTPS: %w", err)
	}
	return ln, nil
}

// newCertManager sets up the HTTPS front door's certificates: a host gets
// one only when the router routes it or ownHost says it is paasd's own
// (the dashboard's); challenges are answered on this
// paasd's own listeners; the local CA's root is written to the data dir.
func newCertManager(cfg config, dataDir string, st *store.Store, rtr *router.Router, httpLn, httpsLn net.Listener, ownHost func(string) bool, log *slog.Logger) (*certs.Manager, error) {
	// The dashboard's host is never an app's: no user certificate of an
	// app serves it.
	appFor := func(host string) (string, bool) {
		if ownHost(host) {
			return "", false
		}
		return rtr.AppFor(host)
	}
	c := certs.Config{
		Store:       st,
		Email:       cfg.ACMEEmail,
		CA:          cfg.ACMECA,
		Allowed:     func(host string) bool { _, ok := rtr.AppFor(host); return ok || ownHost(host) },
		AppFor:      appFor,
		HostsOf:     rtr.Hosts,
		HTTPAddr:    httpLn.Addr().String(),
		LocalCAFile: filepath.Join(dataDir, "local-ca.pem"),
		Logger:      log.With("part", "certs"),
	}
	if httpsLn != nil {
		c.HTTPSAddr = httpsLn.Addr().String()
	}
	c.RootCAs = cfg.ACMERoots
	return certs.New(c)
}

// listenerPort is ln's TCP port, 0 without a listener.
func listenerPort(ln net.Listener) int {
	if ln == nil {
		return 0
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}
