package builder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"paas"
)

// appJSON is the part of an app.json manifest the platform reads.
type appJSON struct {
	Healthchecks map[string][]paas.Healthcheck `json:"healthchecks"`
}

// readHealthchecks returns the web health checks an app.json at the root
// of the tree declares (Dokku's format), nil when there is none.
func readHealthchecks(root *os.Root, out io.Writer) ([]paas.Healthcheck, error) {
	f, err := root.Open("app.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &paas.Error{Msg: "cannot read app.json", Err: err}
	}
	defer f.Close()
	var m appJSON
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&m); err != nil {
		return nil, paas.Errorf("app.json is not valid JSON: %v", err)
	}
	checks := m.Healthchecks["web"]
	for i, c := range checks {
		if c.Path != "" && c.Path[0] != '/' {
			return nil, paas.Errorf("app.json healthchecks.web[%d]: path %q must start with /", i, c.Path)
		}
		if c.Timeout < 0 || c.Attempts < 0 || c.Wait < 0 || c.InitialDelay < 0 || c.Attempts > 100 || c.Timeout > 600 || c.Wait > 600 || c.InitialDelay > 600 {
			return nil, paas.Errorf("app.json healthchecks.web[%d]: timeout, attempts, wait and initialDelay must be small non-negative numbers", i)
		}
	}
	if len(checks) > 0 {
		fmt.Fprintf(out, "       app.json declares %d web health check(s)\n", len(checks))
	}
	return checks, nil
}
