package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"paas/internal/procfs"
)

// Usage is what a running instance has used so far.
type Usage struct {
	Instance Instance
	// CPU is the CPU time its processes used since it started, user and
	// system.
	CPU time.Duration
	// Memory is the memory it holds now, in bytes: the resident sets of
	// its processes (exec), the container's usage less its inactive page
	// cache (docker, as `docker stats` shows it).
	Memory int64
}

// Usage reports what each running instance of app (of every app when app
// is "") has used: the processes of its process group, read from /proc.
func (e *Exec) Usage(ctx context.Context, app string) ([]Usage, error) {
	insts := e.List(app)
	if len(insts) == 0 {
		return nil, nil
	}
	e.mu.Lock()
	byGroup := make(map[int]int, len(insts)) // pgid -> index in out
	out := make([]Usage, len(insts))
	for i, inst := range insts {
		out[i].Instance = inst
		if p := e.procs[inst.ID]; p != nil {
			byGroup[p.g.pgid] = i
		}
	}
	e.mu.Unlock()
	pids, err := procfs.PIDs()
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	for _, pid := range pids {
		u, err := procfs.ReadUsage(pid)
		if err != nil {
			continue // gone since the listing
		}
		if i, ok := byGroup[u.PGID]; ok {
			out[i].CPU += u.CPU
			out[i].Memory += u.RSS
		}
	}
	return out, ctx.Err()
}

// Usage reports what each running instance container of app (of every
// app when app is "") has used, from the engine's one-shot stats.
func (d *Docker) Usage(ctx context.Context, app string) ([]Usage, error) {
	var out []Usage
	for _, inst := range d.List(app) {
		u, err := d.usage(ctx, inst.ID)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			d.log.Debug("reading an instance's stats", "app", inst.App, "instance", inst.Name(), "err", err)
			continue
		}
		u.Instance = inst
		out = append(out, u)
	}
	return out, nil
}

// usage reads one container's stats.
func (d *Docker) usage(ctx context.Context, id string) (Usage, error) {
	res, err := d.api.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return Usage{}, fmt.Errorf("reading container stats: %w", err)
	}
	defer res.Body.Close()
	var st struct {
		CPUStats struct {
			CPUUsage struct {
				TotalUsage uint64 `json:"total_usage"` // nanoseconds
			} `json:"cpu_usage"`
		} `json:"cpu_stats"`
		MemoryStats struct {
			Usage uint64            `json:"usage"`
			Stats map[string]uint64 `json:"stats"`
		} `json:"memory_stats"`
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return Usage{}, fmt.Errorf("decoding container stats: %w", err)
	}
	mem := st.MemoryStats.Usage
	// The page cache the kernel may reclaim is not the app's: cgroup v2
	// names it inactive_file, v1 total_inactive_file.
	cache, ok := st.MemoryStats.Stats["inactive_file"]
	if !ok {
		cache = st.MemoryStats.Stats["total_inactive_file"]
	}
	if cache < mem {
		mem -= cache
	}
	return Usage{CPU: time.Duration(st.CPUStats.CPUUsage.TotalUsage), Memory: int64(mem)}, nil
}
