package paas

import (
	"context"
	"time"
)

// AuditEntry is one entry of the server-wide audit log: one SSH command,
// push or fetch, recorded when it ends. Its JSON field names are what
// `audit --json` prints, one object per line; they are stable.
type AuditEntry struct {
	// Seq numbers the entries in the order they were recorded.
	Seq uint64 `json:"seq"`
	// Time is when the command started (UTC).
	Time time.Time `json:"time"`
	// User is the name of the user whose key ran the command.
	User string `json:"user"`
	// Fingerprint is the SHA256 fingerprint of that key: never the key
	// itself.
	Fingerprint string `json:"fingerprint"`
	// Remote is the client's address, host:port.
	Remote string `json:"remote"`
	// Command is the command line with every secret masked: config
	// values (config:set APP KEY=***), drain URLs' credentials, and all
	// but the name of an unknown command. Nothing of stdin is recorded.
	Command string `json:"command"`
	// App is the app the command names, when it names one.
	App string `json:"app,omitempty"`
	// Status is the command's exit status: 0 for success. A push the
	// platform refused (a failed build or release, a refused ref) is 1,
	// as git push fails then.
	Status int `json:"status"`
	// DurationMS is how long the command ran, in milliseconds.
	DurationMS int64 `json:"duration_ms"`
}

type actorKey struct{}

// WithActor names the user on whose behalf everything done with ctx is
// done, for the platform events that record who changed what.
func WithActor(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, actorKey{}, user)
}

// Actor is the user WithActor named, or "" when ctx names none.
func Actor(ctx context.Context) string {
	v, _ := ctx.Value(actorKey{}).(string)
	return v
}
