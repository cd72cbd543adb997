package gateway

import (
	"context"
	"io"
	"time"

	"paas"
	"paas/access"
	"paas/drains"
	"paas/logs"
	"paas/runtime"
)

// Platform is what the gateway asks of the rest of the system. Every method
// returns a *paas.Error for anything the user did wrong (unknown app, bad
// argument); its message is shown as is. Any other error is logged and
// shown as a generic line.
type Platform interface {
	// Authenticate returns the admitted key with the given SHA256
	// fingerprint (its name and authorized_keys options); ok is false
	// for an unknown key.
	Authenticate(fingerprint string) (key paas.Key, ok bool)

	// User returns the user behind the key with the given SHA256
	// fingerprint, and the key (its name and authorized_keys options);
	// ok is false for a key nobody has.
	User(fingerprint string) (user paas.User, key paas.Key, ok bool)
	// Relation returns how user stands to app (access.None when not at
	// all) and whether the app exists; an invalid name does not exist.
	Relation(app, user string) (rel access.Relation, exists bool, err error)
	// AppRelations returns every app's name with how user stands to it,
	// as Relation would for each, at once.
	AppRelations(ctx context.Context, user string) (map[string]access.Relation, error)
	// AddonRelation returns how user stands to add-on name: the highest
	// relation over the apps it is attached to; for an add-on attached to
	// none, access.Owner for the user who created it, else access.None.
	AddonRelation(name, user string) (rel access.Relation, exists bool, err error)

	// AddKey adds key k (Fingerprint, PublicKey, Options and Name set) to
	// user, creating the user when new (an admin when admin is set; an
	// existing member given admin becomes one); by names who adds it. A
	// fingerprint another user has, or user has already, is refused with
	// a *paas.Error; an invalid user name too.
	AddKey(ctx context.Context, user string, admin bool, k paas.Key, by string) error
	// RemoveKey removes user's key with the given fingerprint, or all of
	// user's keys and the user when fingerprint is "", and returns the
	// keys removed (whose open sessions the caller closes). It refuses
	// (*paas.Error) an unknown user, a key not the user's, the last key
	// of the last admin, and removing a user who owns apps.
	RemoveKey(ctx context.Context, user, fingerprint string) ([]paas.Key, error)
	// Users lists every user, sorted by name.
	Users(ctx context.Context) ([]paas.User, error)
	// KeysOf lists user's keys, or every key when user is "", by user
	// then as added; an unknown user is a *paas.Error.
	KeysOf(ctx context.Context, user string) ([]paas.Key, error)
	// AppAccess returns the app's owner and collaborators (sorted).
	AppAccess(ctx context.Context, app string) (owner string, collaborators []string, err error)
	// AddCollaborator gives user access to app; by names who did. An
	// unknown user, the owner or a collaborator already is refused.
	AddCollaborator(ctx context.Context, app, user, by string) error
	// RemoveCollaborator takes user's access to app away; by names who
	// did. A user who is not a collaborator is refused.
	RemoveCollaborator(ctx context.Context, app, user, by string) error
	// TransferApp makes user the app's owner; the previous owner stays a
	// collaborator. An unknown user, or the owner, is refused.
	TransferApp(ctx context.Context, app, user, by string) error

	ListApps(ctx context.Context) ([]paas.App, error)
	CreateApp(ctx context.Context, name, by string) (paas.App, error)
	// EnsureApp creates the app on first push and returns it otherwise.
	EnsureApp(ctx context.Context, name, by string) (paas.App, error)
	App(ctx context.Context, name string) (paas.App, error)
	DestroyApp(ctx context.Context, name string) error
	// RenameApp gives app old the name new, with everything it has; it
	// is refused while a deploy or change holds the app.
	RenameApp(ctx context.Context, old, new, by string, out io.Writer) error

	Config(ctx context.Context, app string) (map[string]string, error)
	// SetConfig applies set then unset in one new release.
	SetConfig(ctx context.Context, app, by string, set map[string]string, unset []string, out io.Writer) (paas.Release, error)

	Releases(ctx context.Context, app string) ([]paas.Release, error)
	// Builds lists the app's builds, newest first.
	Builds(ctx context.Context, app string) ([]paas.Build, error)
	Processes(ctx context.Context, app string) ([]paas.Process, error)
	Scale(ctx context.Context, app string, counts map[string]int, out io.Writer) error
	// SetLimits sets the resource limits of a process type and restarts
	// its instances with them.
	SetLimits(ctx context.Context, app, typ string, l paas.Limits, out io.Writer) error

	// Rollback makes a new release from release version's build and
	// config (the previous successful release when version is 0) and
	// rolls it out, release phase included. A release that failed is
	// refused unless force is set.
	Rollback(ctx context.Context, app, by string, version int, force bool, out io.Writer) (paas.Release, error)
	// Restart replaces running instances one at a time: all, those of a
	// process type ("web"), or one ("web.2").
	Restart(ctx context.Context, app, target string, out io.Writer) error
	// SetStopped stops a process type (ps:stop) or starts it again with
	// its remembered count (ps:start).
	SetStopped(ctx context.Context, app, typ string, stopped bool, out io.Writer) error
	// SetMaintenance turns the app's maintenance page on or off.
	SetMaintenance(ctx context.Context, app string, on bool) error
	// SetBuilder sets how the app is built: paas.BuilderDockerfile,
	// paas.BuilderBuildpacks or paas.BuilderAuto.
	SetBuilder(ctx context.Context, app, builder string) error
	// SetStopTimeout sets the app's grace period; 0 restores the default.
	SetStopTimeout(ctx context.Context, app string, d time.Duration) error

	// Run starts a one-off of the current release attached to stdio and
	// returns its exit status.
	Run(ctx context.Context, app, by string, argv []string, stdio runtime.Stdio) (int, error)
	// RunDetached starts a one-off of the current release in the
	// background, its output only in the app's log, and returns its
	// name (run.N) once it has started.
	RunDetached(ctx context.Context, app, by string, argv []string) (string, error)

	// Logs writes the lines of the app's stream q selects (the last q.N
	// matching q.Proc, q.Source and q.Since) in format f, then, when
	// q.Follow is set, new lines until ctx is done.
	Logs(ctx context.Context, app string, q logs.Query, f logs.Format, w io.Writer) error

	// Domains lists the app's custom domains, sorted.
	Domains(ctx context.Context, app string) ([]string, error)
	// AddDomain routes host to the app and returns it normalised
	// (paas.NormalizeDomain). A host another app has fails naming that
	// app.
	AddDomain(ctx context.Context, app, host string) (string, error)
	// RemoveDomain stops routing host to the app.
	RemoveDomain(ctx context.Context, app, host string) error
	// SetProxy changes the app's router settings from KEY=VALUE pairs
	// (https-redirect, hsts, default-domain, max-body, connect-timeout,
	// response-timeout; an empty value restores the default) and returns
	// them all.
	SetProxy(ctx context.Context, app string, set map[string]string) (paas.ProxySettings, error)

	// Certs lists the certificates serving the app's hosts.
	Certs(ctx context.Context, app string) ([]paas.Cert, error)
	// AddCert stores a certificate the user brings (PEM chain and its
	// private key) for the hosts it names, which must be the app's.
	AddCert(ctx context.Context, app string, certPEM, keyPEM []byte) (paas.Cert, error)
	// RemoveCert removes the user certificate for host.
	RemoveCert(ctx context.Context, app, host string) error

	// Addons lists the add-ons attached to app, or every add-on when app
	// is "". On a server without add-ons it fails with an error wrapping
	// paas.ErrAddonsUnavailable.
	Addons(ctx context.Context, app string) ([]paas.Addon, error)
	// AddonInfo shows one add-on, with its URL (password masked).
	AddonInfo(ctx context.Context, name string) (paas.Addon, error)
	// CreateAddon provisions a service of engine (named APP-ENGINE,
	// APP-ENGINE-2... when name is "") and attaches it to app as the
	// engine's variable, or AS_URL: a new release, rolled out.
	CreateAddon(ctx context.Context, app, engine, name, as, by string, out io.Writer) (paas.Addon, paas.Release, error)
	// AttachAddon attaches add-on name to app: a new release.
	AttachAddon(ctx context.Context, name, app, as, by string, out io.Writer) (paas.Addon, paas.Release, error)
	// DetachAddon unsets the add-on's variable on app in a new release
	// and returns the variable.
	DetachAddon(ctx context.Context, name, app, by string, out io.Writer) (string, paas.Release, error)
	// DestroyAddon removes an add-on with its data; refused while it is
	// attached, unless detach.
	DestroyAddon(ctx context.Context, name string, detach bool, by string, out io.Writer) error
	// ConnectAddon runs the engine's client (psql, redis-cli) logged in
	// to add-on name, attached to stdio; it returns the client's exit
	// status.
	ConnectAddon(ctx context.Context, name, by string, stdio runtime.Stdio) (int, error)
	// BackupAddon writes a dump of add-on name to w: a new one, or the
	// stored backup from (an ID) when from is set.
	BackupAddon(ctx context.Context, name, from string, w io.Writer) error
	// RestoreAddon replaces add-on name's data with the dump read from
	// r; a refused or failed restore leaves the data as it was.
	RestoreAddon(ctx context.Context, name, by string, r io.Reader) error
	// RotateAddon gives add-on name a new credential: each attached app
	// gets the new URL in a new release, then the old one stops working.
	RotateAddon(ctx context.Context, name, by string, out io.Writer) error
	// AddonBackups lists add-on name's stored backups, oldest first.
	AddonBackups(ctx context.Context, name string) ([]paas.AddonBackup, error)
	// CaptureAddonBackup stores a backup of add-on name now.
	CaptureAddonBackup(ctx context.Context, name, by string) (paas.AddonBackup, error)

	// Deploy builds the source tree (a tar stream of the pushed commit),
	// makes a release and runs it, writing build output to out. A non-nil
	// error rejects the push.
	Deploy(ctx context.Context, req DeployRequest) error

	// Drains lists the app's log drains, URLs masked, in the order added.
	Drains(ctx context.Context, app string) ([]drains.Status, error)
	// AddDrain validates url and starts sending the app's log stream to
	// it.
	AddDrain(ctx context.Context, app, url string) (drains.Status, error)
	// RemoveDrain stops the drain which names (its URL as given or as
	// listed, or its 1-based number) and returns its masked URL.
	RemoveDrain(ctx context.Context, app, which string) (string, error)
}

// DeployRequest is one push to deploy.
type DeployRequest struct {
	App    string
	Commit string    // full hex object name
	Source io.Reader // tar of the commit's tree
	Out    io.Writer // build output for the pusher
	By     string    // key name
	// Check, when set, runs under the app's lock before anything is
	// built; an error refuses the push. The gateway checks there that the
	// branch still has the value the pusher expects.
	Check func() error
	// Keep, when set, is handed the app's lock once the release is live:
	// Deploy does not release it, the caller calls unlock once the branch
	// points at the live commit. On any failure Deploy releases the lock
	// itself and Keep is not called.
	Keep func(unlock func())
}
