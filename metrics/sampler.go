package metrics

import (
	"context"
	"log/slog"
	"time"
)

// SampleInterval is how often the Sampler reads the instances: the
// samples of one minute are averaged into its point.
const SampleInterval = 10 * time.Second

// Usage is what one running instance has used, as its runtime reports it.
type Usage struct {
	ID       string        // the runtime's id of the instance
	App      string        // its app
	Instance string        // its name, "web.1"
	CPU      time.Duration // CPU time used since it started, user and system
	Memory   int64         // bytes it holds now
}

// UsageSource reads what every running instance has used so far.
type UsageSource interface {
	Usage(ctx context.Context) ([]Usage, error)
}

// Sampler reads a UsageSource every SampleInterval and records each
// instance's CPU (the CPU time it used between two samples over the time
// between them) and memory in a Registry.
type Sampler struct {
	reg  *Registry
	src  UsageSource
	log  *slog.Logger
	prev map[string]prevSample // by instance ID
}

type prevSample struct {
	at  time.Time
	cpu time.Duration
}

// NewSampler returns a Sampler of src into reg; log may be nil.
func NewSampler(reg *Registry, src UsageSource, log *slog.Logger) *Sampler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sampler{reg: reg, src: src, log: log, prev: map[string]prevSample{}}
}

// Run samples until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(SampleInterval)
	defer t.Stop()
	for {
		s.Sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample takes one sample of every instance. An instance's first sample
// records its memory only: its CPU needs a second one to measure over.
// It is not safe to call concurrently.
func (s *Sampler) Sample(ctx context.Context) {
	us, err := s.src.Usage(ctx)
	if err != nil {
		s.log.Warn("sampling instances' CPU and memory", "err", err)
		return
	}
	now := s.reg.now()
	seen := make(map[string]prevSample, len(us))
	for _, u := range us {
		cpu := -1.0
		if p, ok := s.prev[u.ID]; ok && now.After(p.at) && u.CPU >= p.cpu {
			cpu = float64(u.CPU-p.cpu) / float64(now.Sub(p.at))
		}
		s.reg.Sample(u.App, u.Instance, cpu, float64(u.Memory))
		seen[u.ID] = prevSample{at: now, cpu: u.CPU}
	}
	s.prev = seen
	s.reg.Prune()
}
