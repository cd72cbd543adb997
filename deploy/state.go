package deploy

import (
	"maps"
	"sort"
	"sync"
	"time"

	"paas"
	"paas/runtime"
)

// instance is one process instance the service started and watches.
type instance struct {
	inst     runtime.Instance
	spec     runtime.Spec
	state    string // starting, up, crashed, restarting, stopping
	since    time.Time
	restarts int
	// stopping is set once the service decided to stop it: its exit is
	// expected and it is never restarted.
	stopping bool
	// booting is set while the converge that started the instance has not
	// finished: a crash then fails the converge instead of restarting.
	booting bool
	// exitCode is the last exit status of a crashed instance, kept by
	// the instances that replace it; signal names the signal it stands
	// for, if any.
	exitCode int
	signal   string
	// backoff is the delay its pending restart waited.
	backoff time.Duration
	timer   *time.Timer
}

func (in *instance) name() string { return in.spec.Name() }

// appState is the live state of one app.
type appState struct {
	name string
	// lock is held (a token in the channel) for a whole deploy, config
	// change, scale, restart or destroy: one at a time per app.
	lock chan struct{}

	mu      sync.Mutex
	release *paas.Release // the release instances are running
	// target is the release a converge is moving to; a crashed instance
	// of another release is not restarted.
	target int
	insts  map[string]*instance // by runtime instance id
	grace  time.Duration        // the app's stop timeout
	// damaged tells why the current release cannot start (its build
	// artifact is missing); "" when it can.
	damaged string
}

func newAppState(name string) *appState {
	return &appState{name: name, insts: map[string]*instance{}, lock: make(chan struct{}, 1)}
}

func (st *appState) setGrace(d time.Duration) {
	st.mu.Lock()
	st.grace = d
	st.mu.Unlock()
}

func (st *appState) getGrace() time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.grace
}

// crashed reports whether in has exited on its own.
func (st *appState) crashed(in *instance) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return in.state == "crashed"
}

// all returns every tracked instance.
func (st *appState) all() []*instance {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]*instance, 0, len(st.insts))
	for _, in := range st.insts {
		out = append(out, in)
	}
	return out
}

// processes returns ps rows sorted by type and index.
func (st *appState) processes() []paas.Process {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]paas.Process, 0, len(st.insts))
	for _, in := range st.insts {
		out = append(out, paas.Process{
			Name:       in.name(),
			Type:       in.spec.Type,
			Index:      in.spec.Index,
			Release:    in.spec.Release,
			State:      in.state,
			Since:      in.since,
			Command:    in.spec.Command,
			Restarts:   in.restarts,
			LastExit:   in.exitCode,
			LastSignal: in.signal,
			Node:       in.inst.Node,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Index < out[j].Index
	})
	return out
}

// desired returns the instance counts a release runs under a formation:
// those of rel.Counts above zero.
func desired(rel paas.Release, formation map[string]int) map[string]int {
	want := rel.Counts(formation)
	maps.DeleteFunc(want, func(_ string, n int) bool { return n <= 0 })
	return want
}
