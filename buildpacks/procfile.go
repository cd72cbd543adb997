package buildpacks

import (
	"bytes"
	"strings"

	"paas"
)

// ParseProcfile parses a Procfile: one "type: command" per line, blank
// lines and lines starting with '#' ignored. A process type is made of
// letters, digits, '_' and '-'. A malformed line or a type declared twice is
// a *paas.Error naming the line.
func ParseProcfile(data []byte) (map[string]string, error) {
	types := make(map[string]string)
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(string(raw), "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		typ, cmd, ok := strings.Cut(line, ":")
		if !ok {
			return nil, paas.Errorf(`Procfile line %d: expected "type: command"`, n)
		}
		typ = strings.TrimSpace(typ)
		cmd = strings.TrimSpace(cmd)
		if typ == "" || cmd == "" {
			return nil, paas.Errorf(`Procfile line %d: expected "type: command"`, n)
		}
		if err := paas.ValidateProcessType(typ); err != nil {
			return nil, paas.Errorf("Procfile line %d: invalid process type %q: use letters, digits, '_' and '-'", n, typ)
		}
		if strings.ContainsRune(cmd, 0) {
			return nil, paas.Errorf("Procfile line %d: command contains a NUL byte", n)
		}
		if _, dup := types[typ]; dup {
			return nil, paas.Errorf("Procfile line %d: process type %q declared twice", n, typ)
		}
		types[typ] = cmd
	}
	return types, nil
}
