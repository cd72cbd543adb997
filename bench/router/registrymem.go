package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"paas/metrics"
)

// registryMemoryFile is where -registry-memory writes its figures.
const registryMemoryFile = "bench/results/metrics-memory.txt"

// Registry memory: the apps and instances of each app a registry is
// filled with.
const (
	memApps         = 100
	memWebInstances = 3
	memWorkers      = 1
)

// registryMemory fills a metrics registry with memApps apps, each with
// web traffic every minute and memWebInstances web and memWorkers worker
// instances sampled every minute, for metrics.Retention, and prints the
// heap it holds after a garbage collection: what paasd's metrics cost.
func registryMemory(stdout io.Writer) error {
	before := heap()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	reg := metrics.NewRegistry(func() time.Time { return now })
	apps := make([]string, memApps)
	for i := range apps {
		apps[i] = "app-" + strconv.Itoa(i)
	}
	var instances []string
	for i := 1; i <= memWebInstances; i++ {
		instances = append(instances, "web."+strconv.Itoa(i))
	}
	for i := 1; i <= memWorkers; i++ {
		instances = append(instances, "worker."+strconv.Itoa(i))
	}
	minutes := int(metrics.Retention / metrics.Resolution)
	for m := range minutes {
		now = start.Add(time.Duration(m) * metrics.Resolution)
		for a, app := range apps {
			for i := range 10 {
				status := []int{200, 200, 200, 301, 404, 500}[(a+i+m)%6]
				reg.Request(app, status, time.Duration(1+(a*i+m)%500)*time.Millisecond)
			}
			for i, inst := range instances {
				reg.Sample(app, inst, 0.01*float64(i+1), float64(64<<20+i<<20))
			}
		}
		if m%100 == 0 {
			reg.Release(apps[m%memApps], m/100+1, now)
		}
	}
	after := heap()
	runtime.KeepAlive(reg)
	used := float64(after.HeapAlloc) - float64(before.HeapAlloc)

	// A day's charts of every app, read as the dashboard reads them.
	t0 := time.Now()
	for _, app := range apps {
		reg.Charts(app, metrics.Retention)
	}
	charts := time.Since(t0) / memApps

	var out []byte
	out = fmt.Appendf(out, "metrics registry memory: %d apps x (%d web + %d worker instances), a point every minute for %s\n",
		memApps, memWebInstances, memWorkers, metrics.Retention)
	out = fmt.Appendf(out, "heap held by the registry (HeapAlloc after GC, minus before): %.1f MiB (%.0f KiB per app)\n", used/(1<<20), used/1024/memApps)
	out = fmt.Appendf(out, "process heap in use after GC: %.1f MiB; memory from the OS (Sys): %.1f MiB\n",
		float64(after.HeapInuse)/(1<<20), float64(after.Sys)/(1<<20))
	out = fmt.Appendf(out, "a day's four charts of one app: %s to build\n", charts.Round(time.Microsecond))
	out = fmt.Appendf(out, "%s, %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	stdout.Write(out)
	if err := os.MkdirAll(filepath.Dir(registryMemoryFile), 0o755); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	if err := os.WriteFile(registryMemoryFile, out, 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

// heap returns the memory statistics after a full collection.
func heap() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}
