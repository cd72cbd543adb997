package logs

import (
	"testing"
)

// TestRename moves a stream's history to a new name, on disk and in
// memory: its lines are found under the new name, numbered on from where
// they were, and nothing stays under the old one.
func TestRename(t *testing.T) {
	for _, dir := range []string{"", t.TempDir()} {
		a, err := Open(Config{Dir: dir, TailLines: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"one", "two", "three", "four"} {
			a.Write("old-app", SourceApp, "web.1", s)
		}
		a.Write("new-app", SourcePaas, "api", "stale line")
		if err := a.Rename("old-app", "new-app"); err != nil {
			t.Fatal(err)
		}
		a.Write("new-app", SourceApp, "web.1", "five")
		var got []string
		for _, l := range a.Tail("new-app", -1, Filter{}) {
			if l.App != "new-app" {
				t.Errorf("dir %q: line of app %q", dir, l.App)
			}
			got = append(got, l.Text)
		}
		want := []string{"one", "two", "three", "four", "five"}
		if dir == "" {
			want = want[2:] // the memory holds the last three
		}
		if len(got) != len(want) {
			t.Fatalf("dir %q: %q, want %q", dir, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("dir %q: %q, want %q", dir, got, want)
				break
			}
		}
		if last := a.Tail("new-app", 1, Filter{}); len(last) != 1 || last[0].Seq != 5 {
			t.Errorf("dir %q: last line %+v, want seq 5", dir, last)
		}
		if old := a.Tail("old-app", -1, Filter{}); len(old) != 0 {
			t.Errorf("dir %q: %d lines left under the old name", dir, len(old))
		}
		a.Close()
	}
}
