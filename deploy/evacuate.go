package deploy

import (
	"context"
	"fmt"
	"io"

	"paas"
)

// Evacuate replaces every instance that runs on node (Instance.Node)
// with one the runtime places elsewhere, app by app and one instance at
// a time, as ps:restart does: the new one starts, passes its checks and
// takes the old one's routes before the old one drains and stops. The
// caller has made the node take no new instances. A one-off running
// there is left to finish. It stops at the first app that fails.
func (s *Service) Evacuate(ctx context.Context, node string, out io.Writer) error {
	if node == "" {
		return paas.Errorf("no node given")
	}
	apps, err := s.cfg.Store.Apps()
	if err != nil {
		return fmt.Errorf("listing apps: %w", err)
	}
	moved := 0
	for _, a := range apps {
		st := s.state(a.Name)
		var names []string
		for _, in := range st.all() {
			if !in.stopping && in.inst.Node == node {
				names = append(names, in.name())
			}
		}
		for _, name := range names {
			if err := s.Restart(ctx, a.Name, name, out); err != nil {
				msg, _ := paas.UserMessage(err)
				return &paas.Error{Msg: fmt.Sprintf("%s %s: %s", a.Name, name, msg), Err: err}
			}
			moved++
		}
	}
	s.log.Info("node evacuated", "node", node, "instances", moved)
	return nil
}
