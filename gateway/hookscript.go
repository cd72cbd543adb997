package gateway

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeHookScript writes dir/pre-receive: a fixed /bin/sh script that execs
// argv, every word single-quoted. It is the only shell on the push path.
func writeHookScript(dir string, argv []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating hooks dir: %w", err)
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	script := "#!/bin/sh\nexec " + strings.Join(quoted, " ") + "\n"
	path := filepath.Join(dir, "pre-receive")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(script), 0o700); err != nil {
		return fmt.Errorf("writing pre-receive hook: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("installing pre-receive hook: %w", err)
	}
	return nil
}
