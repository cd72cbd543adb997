package router

import (
	"testing"

	"paas/metrics"
)

// BenchmarkRouterFastPathMetrics is BenchmarkRouterFastPath with every
// request recorded in a metrics registry, as paasd records them.
func BenchmarkRouterFastPathMetrics(b *testing.B) {
	benchFastPath(b, Config{Domain: "localhost", AccessLog: func(app, line string) {}, Observe: metrics.NewRegistry(nil).Request})
}
