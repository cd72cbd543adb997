package logs

import "strings"

// Filter selects lines. The zero Filter selects every line.
type Filter struct {
	// Proc selects by process: "" matches all, a type such as "web"
	// matches web.1, web.2 and a Proc of exactly "web", a full name such as
	// "web.2" or "router" matches exactly that Proc (platform lines
	// included).
	Proc string
	// Source selects by source: "" matches all, else "app" or "paas".
	Source string
	// Release selects the lines of one release's instances; 0 matches
	// all.
	Release int
}

// Match reports whether l passes the filter.
func (f Filter) Match(l Line) bool {
	if f.Source != "" && f.Source != l.Source {
		return false
	}
	if f.Release != 0 && f.Release != l.Release {
		return false
	}
	if f.Proc == "" || f.Proc == l.Proc {
		return true
	}
	if strings.Contains(f.Proc, ".") {
		return false
	}
	rest, ok := strings.CutPrefix(l.Proc, f.Proc)
	return ok && len(rest) > 1 && rest[0] == '.'
}
