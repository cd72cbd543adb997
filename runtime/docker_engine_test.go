package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
)

// fakeEngine answers the few engine calls the engine watch makes, for one
// instance container, and can go away and come back: going away ends
// every stream and fails every call, as a stopped dockerd does.
type fakeEngine struct {
	srv *httptest.Server

	mu      sync.Mutex
	away    bool
	running bool
	port    string // published host port
	waits   int    // wait calls
	gen     chan struct{}
}

const fakeID = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"

var apiPath = regexp.MustCompile(`^(/v[0-9.]+)?(/.*)$`)

func newFakeEngine(t *testing.T) *fakeEngine {
	f := &fakeEngine{running: true, port: "40001", gen: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	away, gen := f.away, f.gen
	f.mu.Unlock()
	if away {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
		return
	}
	path := apiPath.FindStringSubmatch(r.URL.Path)[2]
	w.Header().Set("Api-Version", "1.41")
	switch {
	case path == "/_ping":
		w.Write([]byte("OK"))
	case path == "/events":
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-gen:
		case <-r.Context().Done():
		}
	case path == "/containers/json":
		json.NewEncoder(w).Encode([]container.Summary{f.summary()})
	case path == "/containers/"+fakeID+"/json":
		json.NewEncoder(w).Encode(f.inspect())
	case path == "/containers/"+fakeID+"/wait":
		f.mu.Lock()
		f.waits++
		f.mu.Unlock()
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-gen:
		case <-r.Context().Done():
		}
	case path == "/containers/"+fakeID+"/attach":
		http.Error(w, `{"message":"no attaching here"}`, http.StatusInternalServerError)
	case r.Method == http.MethodDelete && path == "/containers/"+fakeID:
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, `{"message":"not faked"}`, http.StatusNotImplemented)
	}
}

func (f *fakeEngine) summary() container.Summary {
	f.mu.Lock()
	defer f.mu.Unlock()
	return container.Summary{
		ID: fakeID, State: "running", Created: time.Now().Unix(),
		Labels: map[string]string{LabelManaged: "true", LabelApp: "shop", LabelType: "web", LabelIndex: "1", LabelRelease: "3"},
		Ports:  []container.Port{{IP: "127.0.0.1", PrivatePort: 5000, PublicPort: 40001, Type: "tcp"}},
	}
}

func (f *fakeEngine) inspect() container.InspectResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	state := &container.State{Running: f.running, StartedAt: time.Now().Format(time.RFC3339Nano)}
	if !f.running {
		state.ExitCode = 137
	}
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: fakeID, State: state},
		NetworkSettings: &container.NetworkSettings{NetworkSettingsBase: container.NetworkSettingsBase{
			Ports: nat.PortMap{"5000/tcp": {{HostIP: "127.0.0.1", HostPort: f.port}}},
		}, Networks: map[string]*network.EndpointSettings{}},
	}
}

// restart makes the engine go away, then come back with the container
// running or not, published on port.
func (f *fakeEngine) restart(running bool, port string) (back func()) {
	f.mu.Lock()
	f.away = true
	close(f.gen)
	f.gen = make(chan struct{})
	f.mu.Unlock()
	f.srv.CloseClientConnections()
	return func() {
		f.mu.Lock()
		f.away, f.running, f.port = false, running, port
		f.mu.Unlock()
	}
}

// engineRecorder records what a runtime reports.
type engineRecorder struct {
	mu     sync.Mutex
	events []string
}

func (r *engineRecorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *engineRecorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *engineRecorder) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(r.list()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("reports %q, want %d", r.list(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r.list()
}

// adoptedFake returns a runtime on a fake engine that adopted its one
// instance, and what the runtime reports.
func adoptedFake(t *testing.T) (*fakeEngine, *Docker, *engineRecorder) {
	f := newFakeEngine(t)
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+strings.TrimPrefix(f.srv.URL, "http://")), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	rec := &engineRecorder{}
	d, err := NewDocker(context.Background(), DockerConfig{
		Client: cli,
		OnExit: func(e Exit) {
			rec.add("exit " + e.Instance.Name() + " " + SignalName(e.Code) + " " + errText(e.Err))
		},
		OnEngine: func(e EngineEvent) {
			if e.Up {
				rec.add("up")
			} else {
				rec.add("down")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Detach)
	insts, err := d.Adopt(context.Background())
	if err != nil || len(insts) != 1 || insts[0].Addr != "127.0.0.1:40001" {
		t.Fatalf("adopted %+v, %v", insts, err)
	}
	return f, d, rec
}

func errText(err error) string {
	if errors.Is(err, ErrEngineRestarted) {
		return "engine-restarted"
	}
	if err != nil {
		return err.Error()
	}
	return "-"
}

// TestEngineRestartKeepsSurvivor follows again an instance whose
// container survived an engine restart at its address: no exit is
// reported.
func TestEngineRestartKeepsSurvivor(t *testing.T) {
	f, _, rec := adoptedFake(t)
	back := f.restart(true, "40001")
	rec.waitFor(t, 1)
	back()
	got := rec.waitFor(t, 2)
	if strings.Join(got, ",") != "down,up" {
		t.Fatalf("reports %q, want down,up", got)
	}
	f.mu.Lock()
	waits := f.waits
	f.mu.Unlock()
	if waits != 2 {
		t.Fatalf("%d waits for the container's exit, want 2 (followed again)", waits)
	}
}

// TestEngineRestartReportsGone reports, before the engine is up again for
// Start, the exit of an instance whose container did not survive, or
// survived published elsewhere (its old address may be another's now).
func TestEngineRestartReportsGone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		running bool
		port    string
		signal  string
	}{
		{"stopped", false, "40001", "SIGKILL"},
		{"moved", true, "40002", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, d, rec := adoptedFake(t)
			back := f.restart(tc.running, tc.port)
			rec.waitFor(t, 1)
			// Start waits for the engine and its reconciling.
			started := make(chan error, 1)
			go func() {
				_, err := d.Start(context.Background(), Spec{App: "shop", Release: 4, Type: "web", Index: 2, Command: "serve", Slug: "img", Web: true})
				started <- err
			}()
			select {
			case err := <-started:
				t.Fatalf("Start returned while the engine was away: %v", err)
			case <-time.After(300 * time.Millisecond):
			}
			back()
			got := rec.waitFor(t, 3)
			want := "down,exit web.1 " + tc.signal + " engine-restarted,up"
			if strings.Join(got, ",") != want {
				t.Fatalf("reports %q, want %q", strings.Join(got, ","), want)
			}
			select {
			case <-started: // fails at the fake, which creates nothing
			case <-time.After(20 * time.Second):
				t.Fatal("Start still waits after the engine came back")
			}
		})
	}
}
