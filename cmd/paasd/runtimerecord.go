package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"paas/store"
)

// checkRuntime holds a server to the runtime its apps ran on: picked is
// the runtime this start chose ("docker" or "exec"), setting is
// PAAS_RUNTIME. When the store records another one, PAAS_RUNTIME=auto
// refuses to start (an engine that is down must not move the apps onto
// the host); an explicit PAAS_RUNTIME switches, and recordRuntime records
// it once the server is ready to run apps. A store from before the
// record is judged by its releases: a slug directory means exec, an
// image docker.
func checkRuntime(st *store.Store, setting, picked string, log *slog.Logger) error {
	before, err := st.Runtime()
	if err != nil {
		return fmt.Errorf("reading the recorded runtime: %w", err)
	}
	if before == "" {
		if before, err = pastRuntime(st); err != nil {
			return err
		}
	}
	if before != "" && before != picked {
		if setting == "auto" {
			return autoSwitchError(before, picked)
		}
		log.Warn("runtime switched: the apps start afresh on the new one", "from", before, "to", picked)
	}
	return nil
}

// recordRuntime records the runtime the apps run on from now on.
func recordRuntime(st *store.Store, picked string) error {
	recorded, err := st.Runtime()
	if err == nil && recorded != picked {
		err = st.SetRuntime(picked)
	}
	if err != nil {
		return fmt.Errorf("recording the runtime: %w", err)
	}
	return nil
}

// autoSwitchError is the one line of a refused start.
func autoSwitchError(before, picked string) error {
	if picked == "exec" {
		return fmt.Errorf("this server ran its apps on the %s runtime, and PAAS_RUNTIME=auto found no Docker engine: start the engine, or set PAAS_RUNTIME=exec to move the apps to the exec runtime", before)
	}
	return fmt.Errorf("this server ran its apps on the %s runtime, and PAAS_RUNTIME=auto now finds a Docker engine: set PAAS_RUNTIME=%s to keep it, or PAAS_RUNTIME=%s to move the apps", before, before, picked)
}

// pastRuntime tells the runtime of the first current release it finds;
// "" when there is none.
func pastRuntime(st *store.Store) (string, error) {
	apps, err := st.Apps()
	if err != nil {
		return "", fmt.Errorf("reading apps: %w", err)
	}
	for _, a := range apps {
		if a.Release == 0 || a.Damaged != "" {
			continue
		}
		rel, err := st.Release(a.Name, a.Release)
		if err != nil {
			continue // a damaged app is reported when it starts
		}
		switch {
		case rel.Slug == "":
		case filepath.IsAbs(rel.Slug):
			return "exec", nil
		default:
			return "docker", nil
		}
	}
	return "", nil
}
