// Package paas holds the domain types shared by every part of the platform:
// apps, releases, processes and the user-facing error type. The packages
// below it (store, gateway, deploy, builder, runtime, router, logs) speak in
// these words.
package paas

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Version is the platform's version, printed by `paas version`.
var Version = "0.1.0-dev"

// Error is an error whose message is safe to show to the user over SSH.
// Any other error is logged by the server and reported as a short generic
// line.
type Error struct {
	Msg string
	Err error // optional wrapped cause, never shown
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Errorf makes a user-facing error.
func Errorf(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// UserMessage returns the message to show the user for err and whether err
// carried a user-facing message at all. A full disk is named as such:
// the user can do nothing about it but tell the operator.
func UserMessage(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg, true
	}
	if IsDiskFull(err) {
		return DiskFull, false
	}
	return "internal error", false
}

// DiskFull is what a user is told of a change that failed because the
// server's disk (or the data dir's quota) is full.
const DiskFull = "the server's disk is full; ask the operator to free space"

// IsDiskFull reports whether err is a full disk or an exceeded quota.
func IsDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// Sentinel errors.
var (
	ErrAppNotFound     = errors.New("app not found")
	ErrAppExists       = errors.New("app already exists")
	ErrReleaseNotFound = errors.New("release not found")
	ErrNoRelease       = errors.New("app has no release")
	// ErrAppDamaged is wrapped by the answer about an app whose record
	// in the store cannot be read.
	ErrAppDamaged = errors.New("app record damaged")
	// ErrUnchanged is wrapped by the answer to a change that changes
	// nothing (unsetting config vars that are not set): it is said, and
	// no release is made.
	ErrUnchanged = errors.New("nothing changed")
)

// App is a deployable application.
type App struct {
	Name      string
	CreatedAt time.Time
	CreatedBy string
	// Release is the version of the current release, 0 when none.
	Release int
	// Formation maps a process type to its instance count.
	Formation map[string]int
	// Limits maps a process type to its resource limits.
	Limits map[string]Limits `json:",omitempty"`
	// StopTimeout is the app's grace between SIGTERM and SIGKILL; 0 means
	// the platform's default.
	StopTimeout time.Duration `json:",omitempty"`
	// Maintenance makes the router answer 503 with a maintenance page.
	Maintenance bool `json:",omitempty"`
	// Stopped remembers the counts of process types stopped with ps:stop,
	// for ps:start.
	Stopped map[string]int `json:",omitempty"`
	// Domains are the app's custom hosts, normalised (see
	// NormalizeDomain), sorted; "*.example.com" is a wildcard.
	Domains []string `json:",omitempty"`
	// Proxy holds the app's router settings (proxy:set).
	Proxy ProxySettings `json:",omitempty"`
	// Builder is how the app is built (builder:set): BuilderDockerfile,
	// BuilderBuildpacks, or "" (BuilderAuto).
	Builder string `json:",omitempty"`
	// Damaged, when not empty, tells why the app cannot run and what to
	// do about it (its record or its release's artifact is damaged or
	// missing). It is never stored.
	Damaged string `json:"-"`
}

// Limits are the resources one instance of a process type may use.
type Limits struct {
	Memory int64   `json:",omitempty"` // bytes; 0 = no limit
	CPUs   float64 `json:",omitempty"` // cores; 0 = no limit
}

// String shows the limits as ps:set takes them.
func (l Limits) String() string {
	var parts []string
	if l.Memory > 0 {
		parts = append(parts, "memory="+FormatMemory(l.Memory))
	}
	if l.CPUs > 0 {
		parts = append(parts, "cpus="+strconv.FormatFloat(l.CPUs, 'f', -1, 64))
	}
	if len(parts) == 0 {
		return "no limits"
	}
	return strings.Join(parts, " ")
}

// Release is an immutable, numbered combination of a build, a snapshot of
// config and the process types.
type Release struct {
	App          string
	Version      int
	Build        int
	Commit       string
	Description  string
	Config       map[string]string
	ProcessTypes map[string]string
	// Slug is the build's artifact: a slug directory (exec runtime) or an
	// image reference (docker runtime).
	Slug       string
	Buildpacks []string
	// Port is the port the image's web process listens on (a Dockerfile's
	// EXPOSE); 0 means the platform's default.
	Port      int `json:",omitempty"`
	CreatedAt time.Time
	CreatedBy string
	// Pruned is set when the build's artifact has been removed to save
	// space; the release is still listed but can no longer run.
	Pruned bool `json:"-"`
	// Healthchecks are the app.json checks its web instances must pass.
	Healthchecks []Healthcheck `json:",omitempty"`
	// Status is pending while the release is being rolled out, then
	// succeeded or failed; Failure says why it failed.
	Status  string `json:",omitempty"`
	Failure string `json:",omitempty"`
}

// Release statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Healthcheck is one check of an app.json healthchecks list (Dokku's
// format): an HTTP GET of Path that must answer 2xx or 3xx, with Content
// in its body when it names some.
type Healthcheck struct {
	Type     string `json:"type,omitempty"` // startup (the only kind run)
	Name     string `json:"name,omitempty"`
	Path     string `json:"path,omitempty"`
	Timeout  int    `json:"timeout,omitempty"`  // seconds per attempt, default 5
	Attempts int    `json:"attempts,omitempty"` // default 3
	Wait     int    `json:"wait,omitempty"`     // seconds between attempts, default 1
	// InitialDelay is seconds to wait before the first attempt.
	InitialDelay int `json:"initialDelay,omitempty"`
	// Content is text the answer's body must contain; "" checks only
	// the status.
	Content string `json:"content,omitempty"`
}

// Name returns "vN".
func (r Release) Name() string { return fmt.Sprintf("v%d", r.Version) }

// Counts is the formation r runs under the counts an app stores: a count
// for every process type r declares but the release phase, the stored
// one, else 1 for web and 0 for the others.
func (r Release) Counts(stored map[string]int) map[string]int {
	out := map[string]int{}
	for t := range r.ProcessTypes {
		if t == "release" {
			continue
		}
		n, ok := stored[t]
		if !ok && t == "web" {
			n = 1
		}
		out[t] = n
	}
	return out
}

// Build records one build of a commit.
type Build struct {
	App          string
	Number       int
	Commit       string
	Slug         string
	ProcessTypes map[string]string
	Buildpacks   []string
	Port         int           `json:",omitempty"`
	Healthchecks []Healthcheck `json:",omitempty"`
	Pruned       bool          `json:",omitempty"`
	// CreatedAt is when the build finished (when it started, while
	// it is pending).
	CreatedAt time.Time
	// Status is pending while the build runs, then succeeded or failed
	// (Failure says why). Records written before builds had a status
	// are of succeeded builds: only those were kept.
	Status  string `json:",omitempty"`
	Failure string `json:",omitempty"`
	// By is who pushed the commit; StartedAt is when the build began.
	// Older records have neither.
	By        string    `json:",omitempty"`
	StartedAt time.Time `json:",omitzero"`
}

// Key is an SSH public key admitted to the platform. It belongs to one
// user; a fingerprint belongs to one user only.
type Key struct {
	// Name labels the key (its authorized_keys comment, or its user's
	// name); it is shown in lists and events, never the key material.
	Name        string
	Fingerprint string // SHA256:... as printed by ssh-keygen -l
	PublicKey   string // authorized_keys line
	// Options are the key's authorized_keys options as written
	// (from="10.0.0.0/8", no-pty, ...); the gateway enforces them.
	Options []string `json:",omitempty"`
	// Admin is kept for stores written before users existed; a key's
	// rights are its user's (User.Admin).
	Admin bool
	// User is the name of the user the key belongs to.
	User    string `json:",omitempty"`
	AddedAt time.Time
	// AddedBy names who added the key: a user, or the operator
	// ("paasd keys:add", "PAAS_AUTHORIZED_KEYS").
	AddedBy string `json:",omitempty"`
}

// User is a person (or robot) with one or more keys. An admin may do
// everything; any other user is a member, who may create apps and acts
// only on the apps they own or collaborate on.
type User struct {
	Name      string
	Admin     bool
	CreatedAt time.Time
	CreatedBy string
}

// Role names the user's role as lists show it: "admin" or "member".
func (u User) Role() string {
	if u.Admin {
		return "admin"
	}
	return "member"
}

// ErrUserNotFound is wrapped by the error for a user name nobody has.
var ErrUserNotFound = errors.New("user not found")

// Process is one running (or restarting) instance as `ps` shows it.
type Process struct {
	Name     string // web.1
	Type     string
	Index    int
	Release  int
	State    string // starting, up, crashed, restarting, stopping
	Since    time.Time
	Command  string
	Restarts int
	// LastExit is the exit status of the last crash, 128+N when signal N
	// ended it; meaningful when Restarts > 0 or State is crashed or
	// restarting.
	LastExit int
	// LastSignal names the signal LastExit stands for ("SIGKILL"), ""
	// when the process exited by itself.
	LastSignal string
	// Node is the machine of the swarm it runs on; "" on a single host.
	Node string
}

type noWaitKey struct{}

// WithNoWait marks ctx as a change that must fail at once rather than wait
// for another change of the same app to finish (--no-wait).
func WithNoWait(ctx context.Context) context.Context {
	return context.WithValue(ctx, noWaitKey{}, true)
}

// NoWait reports whether ctx asks not to wait.
func NoWait(ctx context.Context) bool {
	v, _ := ctx.Value(noWaitKey{}).(bool)
	return v
}
