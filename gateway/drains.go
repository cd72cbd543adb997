package gateway

import (
	"fmt"
	"text/tabwriter"
)

// cmdDrains lists the app's drains: number, masked URL, state, lines
// buffered, dropped and sent, the token, and the last error with its time.
func cmdDrains(s *Server, r *request, app string, args []string) error {
	if len(args) != 0 {
		return usageError(lookupCommand("drains"))
	}
	ds, err := s.cfg.Platform.Drains(r.ctx, app)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		fmt.Fprintf(r.stdout, "%s has no log drains; add one with drains:add %s URL\n", app, app)
		return nil
	}
	w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "#\tURL\tSTATE\tBUFFERED\tDROPPED\tSENT\tTOKEN\tLAST ERROR")
	for i, d := range ds {
		lastErr := "-"
		if d.LastError != "" {
			lastErr = formatTime(d.LastErrorAt) + " " + d.LastError
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", i+1, d.URL, d.State, d.Buffered, d.Dropped, d.Sent, d.Token, lastErr)
	}
	return w.Flush()
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
