package main

import (
	"context"
	"encoding/json"
	"fmt"

	"paas/bench/internal/paasd"
)

// instance is one row of `ps APP --json` (docs/json.md).
type instance struct {
	Name  string  `json:"name"`
	Type  string  `json:"type"`
	State string  `json:"state"`
	Node  *string `json:"node"`
}

// ps lists app's instances of type typ.
func ps(ctx context.Context, srv *paasd.Server, app, typ string) ([]instance, error) {
	out, err := srv.SSH(ctx, "ps "+app+" --json")
	if err != nil {
		return nil, err
	}
	var all []instance
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		return nil, fmt.Errorf("ps --json: %w", err)
	}
	var of []instance
	for _, in := range all {
		if in.Type == typ {
			of = append(of, in)
		}
	}
	return of, nil
}

// nodesOf is how many distinct swarm nodes the instances run on, 0 when
// none names a node (PAAS_SCHEDULER=local).
func nodesOf(ins []instance) int {
	nodes := map[string]bool{}
	for _, in := range ins {
		if in.Node != nil && *in.Node != "" {
			nodes[*in.Node] = true
		}
	}
	return len(nodes)
}
