// Package timing records how long the phases of one operation (a deploy,
// a config change) take, for a debugging timeline at the end of its
// output. A Recorder travels in the operation's context; code marks the
// end of each phase with Mark, which does nothing when the context has no
// recorder.
package timing

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Recorder keeps the phases of one operation, in the order they ended.
// It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	start  time.Time
	last   time.Time
	phases []Phase
}

// Phase is one step of an operation and how long it took: from the end
// of the phase before it (or the recorder's start) to its own end.
type Phase struct {
	Name string
	Took time.Duration
}

// New returns a recorder whose first phase starts now.
func New() *Recorder {
	now := time.Now()
	return &Recorder{start: now, last: now}
}

type key struct{}

// With returns ctx carrying r.
func With(ctx context.Context, r *Recorder) context.Context {
	return context.WithValue(ctx, key{}, r)
}

// From returns the recorder ctx carries, or nil.
func From(ctx context.Context) *Recorder {
	r, _ := ctx.Value(key{}).(*Recorder)
	return r
}

// Mark ends the phase name of the recorder in ctx, if any: the phase
// lasted from the previous mark until now.
func Mark(ctx context.Context, name string) {
	From(ctx).Mark(name)
}

// Mark ends the phase name now. A nil recorder does nothing.
func (r *Recorder) Mark(name string) {
	if r == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phases = append(r.phases, Phase{Name: name, Took: now.Sub(r.last)})
	r.last = now
}

// Phases returns the phases marked so far, in order.
func (r *Recorder) Phases() []Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Phase(nil), r.phases...)
}

// Write prints one line per phase, "-----> timing NAME DURATION", and a
// last line with the total since the recorder started.
func (r *Recorder) Write(w io.Writer) {
	if r == nil || w == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.phases {
		fmt.Fprintf(w, "-----> timing %-24s %8s\n", p.Name, p.Took.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "-----> timing %-24s %8s\n", "total", r.last.Sub(r.start).Round(time.Millisecond))
}
