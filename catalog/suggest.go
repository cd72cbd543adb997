package catalog

import (
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
)

// maxSuggestions bounds how many names Suggest returns.
const maxSuggestions = 3

// Suggest returns the names of the commands nearest to name, best first,
// none when nothing is near: a typo (config:st → config:set), a prefix
// (log → logs), a verb without its topic (scale → ps:scale) or a command
// of a known topic (domain:add → domains:add).
func Suggest(name string) []string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return nil
	}
	type scored struct {
		name  string
		score int
	}
	var found []scored
	for _, c := range commands {
		if s, ok := nearness(name, c.Name); ok {
			found = append(found, scored{c.Name, s})
		}
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortStableFunc(found, func(a, b scored) int {
		if a.score != b.score {
			return a.score - b.score
		}
		if d := len(a.name) - len(b.name); d != 0 {
			return d
		}
		return strings.Compare(a.name, b.name)
	})
	// Only the best, and those as good.
	var out []string
	for _, f := range found {
		if f.score > found[0].score || len(out) == maxSuggestions {
			break
		}
		out = append(out, f.name)
	}
	return out
}

// nearness scores how near typed is to the command called name, lower
// is nearer, and whether it is near at all.
func nearness(typed, name string) (int, bool) {
	if typed == name {
		return 0, true
	}
	if len(typed) >= 2 && strings.HasPrefix(name, typed) {
		// log → logs, ps:sc → ps:scale.
		return 1, true
	}
	topic, verb, hasVerb := strings.Cut(name, ":")
	if hasVerb && typed == verb {
		// scale → ps:scale, create → apps:create.
		return 1, true
	}
	d := levenshtein.ComputeDistance(typed, name)
	if tt, tv, ok := strings.Cut(typed, ":"); ok && hasVerb {
		// The topic and the verb are compared on their own, so that a
		// typo in each still finds the command (domain:ad → domains:add).
		td := levenshtein.ComputeDistance(tt, topic)
		vd := levenshtein.ComputeDistance(tv, verb)
		if td <= tolerance(topic) && vd <= tolerance(verb) {
			d = min(d, td+vd)
		}
	}
	return d, d <= tolerance(typed)
}

// tolerance is how many edits still count as a typo of a word this long.
func tolerance(s string) int {
	return min(max(len(s)/3, 1), 3)
}
