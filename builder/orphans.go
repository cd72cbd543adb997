package builder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"

	"paas/internal/procfs"
)

// buildIDVar is set in the environment of every build step run on the
// host; its value, Config.Owner "." a random id, names the build. A paasd
// killed during a build leaves processes behind that its successor finds
// by it, even those that left the step's process group.
const buildIDVar = "PAAS_BUILD_ID"

// labelOwner marks the build containers of one paasd (Config.Owner), as
// the runtime marks its instances.
const labelOwner = "paas.owner"

// orphanWait bounds how long ReapOrphans waits for killed processes.
const orphanWait = 10 * time.Second

// stepRecord is what RunDir holds while a build step runs on the host:
// enough to find its process group after paasd died, and to tell it from
// a later process that reuses the number.
type stepRecord struct {
	App   string `json:"app"`
	Build int    `json:"build"`
	PGID  int    `json:"pgid"`
	Start uint64 `json:"start"` // the leader's start time, clock ticks after boot
	Boot  string `json:"boot,omitempty"`
	ID    string `json:"id"` // the build's PAAS_BUILD_ID
}

// newBuildID returns a fresh PAAS_BUILD_ID value for a build.
func (b *Builder) newBuildID() string {
	var r [8]byte
	rand.Read(r[:])
	return b.cfg.Owner + "." + hex.EncodeToString(r[:])
}

// trackStep records the process group pid leads as a step of st's build
// in RunDir, and returns what removes the record once the step is over.
// Without a RunDir it records nothing.
func (b *Builder) trackStep(st *buildState, id string, pid int) func() {
	if b.cfg.RunDir == "" {
		return func() {}
	}
	stat, err := procfs.ReadStat(pid)
	if err != nil {
		// The step is already over.
		return func() {}
	}
	data, err := json.Marshal(stepRecord{App: st.req.App, Build: st.req.Build, PGID: pid, Start: stat.Start, Boot: procfs.BootID(), ID: id})
	if err != nil {
		b.log.Error("recording a build step", "err", err)
		return func() {}
	}
	path := filepath.Join(b.cfg.RunDir, fmt.Sprintf("%s-b%d-%d.json", st.req.App, st.req.Build, pid))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil || os.Rename(tmp, path) != nil {
		os.Remove(tmp)
		b.log.Error("recording a build step", "path", path, "err", err)
		return func() {}
	}
	return func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.log.Warn("removing a build step record", "err", err)
		}
	}
}

// Reaped is what ReapOrphans removed.
type Reaped struct {
	Processes  int // host processes killed (process groups count once)
	Containers int // build containers removed
	Scratch    int // scratch dirs (with their ENV_DIR) removed
}

// ReapOrphans removes what builds of an earlier paasd on the same data
// left when it was killed: it kills the host processes of its build steps
// (the process groups recorded in RunDir whose leader still runs, and
// every process whose environment carries a PAAS_BUILD_ID of this Owner),
// removes the build and image containers labelled with this Owner, and
// deletes the scratch dirs under CacheDir/APP/build-*, which hold the
// apps' config as ENV_DIR. Call it at start, before any build.
func (b *Builder) ReapOrphans(ctx context.Context) (Reaped, error) {
	var r Reaped
	var errs []error
	n, err := b.reapProcesses()
	r.Processes = n
	errs = append(errs, err)
	if b.docker != nil && b.cfg.Owner != "" {
		n, err := b.reapContainers(ctx)
		r.Containers = n
		errs = append(errs, err)
	}
	scratch, err := filepath.Glob(filepath.Join(b.cfg.CacheDir, "*", "build-*"))
	errs = append(errs, err)
	for _, dir := range scratch {
		if err := removeAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", dir, err))
			continue
		}
		r.Scratch++
	}
	if err := errors.Join(errs...); err != nil {
		return r, fmt.Errorf("reaping orphaned builds: %w", err)
	}
	return r, nil
}

// reapProcesses kills the leftover host processes of build steps and
// waits until they are gone.
func (b *Builder) reapProcesses() (int, error) {
	var groups []int
	ids := map[string]bool{}
	if b.cfg.RunDir != "" {
		entries, err := os.ReadDir(b.cfg.RunDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
		boot := procfs.BootID()
		for _, e := range entries {
			path := filepath.Join(b.cfg.RunDir, e.Name())
			var rec stepRecord
			data, err := os.ReadFile(path)
			if err == nil && strings.HasSuffix(e.Name(), ".json") && json.Unmarshal(data, &rec) == nil && rec.PGID > 1 {
				ids[rec.ID] = true
				stat, err := procfs.ReadStat(rec.PGID)
				if err == nil && stat.Start == rec.Start && (rec.Boot == "" || boot == "" || rec.Boot == boot) {
					if err := syscall.Kill(-rec.PGID, syscall.SIGKILL); err == nil {
						groups = append(groups, rec.PGID)
						b.log.Info("orphaned build step killed", "app", rec.App, "build", rec.Build, "pgid", rec.PGID)
					}
				}
			}
			os.Remove(path)
		}
	}
	pids, err := procfs.PIDs()
	if err != nil {
		return len(groups), err
	}
	var killed []int
	self := os.Getpid()
	for _, pid := range pids {
		if pid == self {
			continue
		}
		for _, kv := range procfs.Environ(pid) {
			id, ok := strings.CutPrefix(kv, buildIDVar+"=")
			if ok && (ids[id] || (b.cfg.Owner != "" && strings.HasPrefix(id, b.cfg.Owner+"."))) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					killed = append(killed, pid)
				}
				break
			}
		}
	}
	if len(killed) > 0 {
		b.log.Info("orphaned build processes killed", "count", len(killed))
	}
	deadline := time.Now().Add(orphanWait)
	for left := stillRunning(groups, killed); left > 0; left = stillRunning(groups, killed) {
		if time.Now().After(deadline) {
			return len(groups) + len(killed), fmt.Errorf("%d killed build processes still running after %s", left, orphanWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return len(groups) + len(killed), nil
}

// stillRunning counts the running processes that are in one of groups or are
// one of pids.
func stillRunning(groups, pids []int) int {
	if len(groups) == 0 && len(pids) == 0 {
		return 0
	}
	all, err := procfs.PIDs()
	if err != nil {
		return 0
	}
	n := 0
	for _, pid := range all {
		st, err := procfs.ReadStat(pid)
		if err == nil && st.Running() && (slices.Contains(groups, st.PGID) || slices.Contains(pids, pid)) {
			n++
		}
	}
	return n
}

// reapContainers removes the build and image containers of this Owner.
func (b *Builder) reapContainers(ctx context.Context) (int, error) {
	list, err := b.docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", labelOwner+"="+b.cfg.Owner)),
	})
	if err != nil {
		return 0, engineError("listing build containers", err)
	}
	n := 0
	for _, c := range list {
		if role := c.Labels[labelRole]; role != "build" && role != "commit" {
			continue
		}
		if err := b.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
			return n, engineError("removing a build container", err)
		}
		b.log.Info("orphaned build container removed", "app", c.Labels[labelApp], "build", c.Labels[labelBuild])
		n++
	}
	return n, nil
}
