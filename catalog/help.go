package catalog

import (
	"fmt"
	"io"
	"strings"
)

// ByTopic returns the commands of each topic, topics in help's order.
func ByTopic() [][]Command {
	var out [][]Command
	for _, t := range topics {
		var cs []Command
		for _, c := range commands {
			if c.Topic == t {
				cs = append(cs, c)
			}
		}
		if len(cs) > 0 {
			out = append(out, cs)
		}
	}
	return out
}

// nameWidth is the width of the names' column in a listing.
func nameWidth() int {
	w := 0
	for _, c := range commands {
		w = max(w, len(c.Name))
	}
	return w
}

// WriteList writes every command, grouped by topic, one line each:
// its name and summary.
func WriteList(w io.Writer) {
	width := nameWidth()
	for i, cs := range ByTopic() {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s:\n", cs[0].Topic)
		for _, c := range cs {
			fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
		}
	}
}

// WriteHelp writes the command's help: its usage in the client's grammar,
// summary, flags and example.
func (c Command) WriteHelp(w io.Writer) {
	fmt.Fprintf(w, "%s\n\n%s\n", wrapUsage("usage: "+c.ClientUsage(), 80), c.Summary)
	flags := c.Flags
	if c.App != NoApp {
		flags = append(flags[:len(flags):len(flags)],
			Flag{"-a|--app", "APP", "the app; else -r's, $PAAS_APP, the paas remote's"},
			Flag{"-r|--remote", "NAME", "the git remote naming the app and server"})
	}
	if len(flags) > 0 {
		fmt.Fprintln(w, "\nflags:")
		cols := make([]string, len(flags))
		width := 0
		for i, f := range flags {
			cols[i] = strings.Join(f.Names(), ", ")
			if f.Value != "" {
				cols[i] += " " + f.Value
			}
			width = max(width, len(cols[i]))
		}
		for i, f := range flags {
			fmt.Fprintf(w, "  %-*s  %s\n", width, cols[i], f.Help)
		}
	}
	if c.Rest {
		fmt.Fprintln(w, "\nThe client's flags (-a, -r, --help) go before CMD: everything from CMD on,\n-a included, is the command's. -- ends the client's flags.")
	}
	fmt.Fprintf(w, "\nexample:\n  %s\n", c.Example)
}

// wrapUsage breaks a usage line into lines of at most width columns, at
// spaces outside brackets, continuing with an indent.
func wrapUsage(line string, width int) string {
	var words []string
	depth, start := 0, 0
	for i, r := range line {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ' ':
			if depth == 0 {
				words = append(words, line[start:i])
				start = i + 1
			}
		}
	}
	words = append(words, line[start:])
	var b strings.Builder
	col := 0
	for i, w := range words {
		switch {
		case i == 0:
		case col+1+len(w) > width:
			b.WriteString("\n       ")
			col = 7
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}
