package gateway

import (
	"strings"

	"paas"
)

// parseFlags separates flags from operands in args. spec maps each known
// flag to whether it takes a value ("--ps web" or "--ps=web"). "--" ends
// the flags. It returns the flags seen (value "" for those without one) and
// the operands in order.
func parseFlags(args []string, spec map[string]bool) (map[string]string, []string, error) {
	flags := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		takesVal, known := spec[name]
		if !known {
			return nil, nil, paas.Errorf("unknown flag %s", name)
		}
		switch {
		case takesVal && !hasVal:
			if i+1 >= len(args) {
				return nil, nil, paas.Errorf("flag %s needs a value", name)
			}
			i++
			val = args[i]
		case !takesVal && hasVal:
			return nil, nil, paas.Errorf("flag %s takes no value", name)
		}
		flags[name] = val
	}
	return flags, rest, nil
}
