package gateway

import (
	"fmt"
)

// cmdDrains lists the app's drains: number, masked URL, state, lines
// sent, dropped and buffered, and the last error with its time; with
// --json their tokens too.
func cmdDrains(s *Server, r *request, app string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("drains"))
	}
	ds, err := s.cfg.Platform.Drains(r.ctx, app)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return emptyListing(r, asJSON, fmt.Sprintf("%s has no log drains; add one with drains:add %s URL", app, app))
	}
	if asJSON {
		list := make([]drainJSON, 0, len(ds))
		for i, d := range ds {
			list = append(list, toDrainJSON(i+1, d))
		}
		return writeJSON(r, list)
	}
	// The tokens are too long for 80 columns: drains:add shows each, and
	// drains --json lists them.
	t := newTable("#", "URL", "STATE", "SENT", "DROPPED", "BUFFERED", "LAST ERROR")
	for i, d := range ds {
		lastErr := "-"
		if d.LastError != "" {
			lastErr = ago(s.now().Sub(d.LastErrorAt)) + ": " + d.LastError
		}
		t.row(fmt.Sprint(i+1), printable(d.URL), d.State, fmt.Sprint(d.Sent), fmt.Sprint(d.Dropped), fmt.Sprint(d.Buffered), printable(lastErr))
	}
	return t.write(r.stdout)
}

func cmdDrainsAdd(s *Server, r *request, app string, args []string) error {
	if len(args) != 1 {
		return usageError(lookupCommand("drains:add"))
	}
	d, err := s.cfg.Platform.AddDrain(r.ctx, app, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Added log drain %s to %s (token %s)\n", d.URL, app, d.Token)
	return nil
}

func cmdDrainsRemove(s *Server, r *request, app string, args []string) error {
	if len(args) != 1 {
		return usageError(lookupCommand("drains:remove"))
	}
	masked, err := s.cfg.Platform.RemoveDrain(r.ctx, app, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Removed log drain %s from %s\n", masked, app)
	return nil
}
