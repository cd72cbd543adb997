package buildpacks

import (
	"bytes"
	"errors"
	"strings"

	"paas"
)

// ParseBuildpacksFile parses a .buildpacks file: one buildpack per line,
// in any form ParseRef takes (paths are the server directories the
// operator allows). Blank lines and lines starting with '#' are ignored.
// A refused line is a *paas.Error naming the line.
func ParseBuildpacksFile(data []byte, paths []string) ([]Ref, error) {
	var list []Ref
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ref, err := ParseRef(line, paths)
		if err != nil {
			var pe *paas.Error
			if errors.As(err, &pe) {
				return nil, paas.Errorf(".buildpacks line %d: %s", i+1, pe.Msg)
			}
			return nil, err
		}
		list = append(list, ref)
	}
	return list, nil
}
