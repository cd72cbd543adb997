package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"paas/bench/internal/paasd"
	"paas/bench/internal/wrk"
)

// measureLoad warms app up with a 1 s wrk run, then drives it through
// the router rounds times for s.duration each.
func measureLoad(ctx context.Context, srv *paasd.Server, app string, s settings) ([]wrk.Result, error) {
	url, host := "http://"+srv.HTTPAddr+"/", app+".localhost"
	if _, err := wrk.Run(ctx, url, host, s.threads, s.conns, time.Second); err != nil {
		return nil, fmt.Errorf("warming up: %w", err)
	}
	var rs []wrk.Result
	for r := range s.rounds {
		fmt.Fprintf(os.Stderr, "  wrk round %d/%d\n", r+1, s.rounds)
		res, err := wrk.Run(ctx, url, host, s.threads, s.conns, s.duration)
		if err != nil {
			return nil, err
		}
		rs = append(rs, res)
	}
	return rs, nil
}
