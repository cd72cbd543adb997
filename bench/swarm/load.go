package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"paas/bench/internal/paasd"
)

// measureLoad warms app up with a 1 s wrk run, then drives it through
// the router rounds times for s.duration each.
func measureLoad(ctx context.Context, srv *paasd.Server, app string, s settings) ([]wrkResult, error) {
	url, host := "http://"+srv.HTTPAddr+"/", app+".localhost"
	if _, err := runWrk(ctx, url, host, s.threads, s.conns, time.Second); err != nil {
		return nil, fmt.Errorf("warming up: %w", err)
	}
	var rs []wrkResult
	for r := range s.rounds {
		fmt.Fprintf(os.Stderr, "  wrk round %d/%d\n", r+1, s.rounds)
		res, err := runWrk(ctx, url, host, s.threads, s.conns, s.duration)
		if err != nil {
			return nil, err
		}
		rs = append(rs, res)
	}
	return rs, nil
}
