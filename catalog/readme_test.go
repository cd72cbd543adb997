package catalog

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEListsEveryCommand checks that the README's command table
// names every command in the client's grammar, `paas NAME`, so that a
// command added to the catalog is documented.
func TestREADMEListsEveryCommand(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	start := strings.Index(readme, "\n## Commands\n")
	if start < 0 {
		t.Fatal("the README has no Commands section")
	}
	section := readme[start+1:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	var rows []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `paas ") {
			first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
			rows = append(rows, first)
		}
	}
	for _, c := range All() {
		named := false
		for _, r := range rows {
			if strings.Contains(r, "`paas "+c.Name+"`") || strings.Contains(r, "`paas "+c.Name+" ") {
				named = true
			}
		}
		if !named {
			t.Errorf("the README's command table has no row for `paas %s`", c.Name)
		}
	}
}
