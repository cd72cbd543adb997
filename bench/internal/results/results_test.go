package results

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTableSavesWhatItPrinted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.txt")
	var printed bytes.Buffer
	tab := newTable(path, &printed)
	fmt.Fprintf(tab, "%-5s %3d\n", "exec", 42)
	if err := tab.Save(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "machine: ") || !strings.HasSuffix(lines[0], " cores") || lines[1] != "exec   42" {
		t.Errorf("saved %q", b)
	}
	if printed.String() != string(b) {
		t.Errorf("printed %q, saved %q", printed.String(), b)
	}
}
