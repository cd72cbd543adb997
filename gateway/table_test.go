package gateway

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"paas"
)

// checkFits fails unless every line of out is at most 80 columns wide.
func checkFits(t *testing.T, what, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if w := textWidth(line); w > tableWidth {
			t.Errorf("%s: a line of %d columns:\n%s", what, w, out)
			return
		}
	}
}

func TestTableFitsAndCuts(t *testing.T) {
	long := strings.Repeat("x", 200)
	tb := newTable("HOST", "TYPE", "NOTE")
	tb.row(long, "custom", "short")
	tb.row("a.example", "default", strings.Repeat("y", 100))
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	checkFits(t, "table", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "HOST ") || !strings.Contains(lines[0], "  TYPE     NOTE") {
		t.Fatalf("table:\n%s", out)
	}
	// The long cells are cut with "…"; the short ones stay whole.
	if !strings.Contains(lines[1], "x…  custom   short") || !strings.HasSuffix(lines[2], "y…") || !strings.Contains(lines[2], "a.example") {
		t.Errorf("table:\n%s", out)
	}
	// No trailing spaces; one line per row even with a newline in a cell.
	tb = newTable("A", "B")
	tb.row("one\ntwo", "")
	b.Reset()
	tb.write(&b)
	if b.String() != "A         B\none\\ntwo\n" {
		t.Errorf("table with a newline and an empty last cell: %q", b.String())
	}
}

func TestTableKeepsWholeColumns(t *testing.T) {
	fp := "SHA256:" + strings.Repeat("k", 43)
	tb := newTable("USER", "FINGERPRINT", "NAME").keepWhole("FINGERPRINT")
	tb.row(strings.Repeat("u", 40), fp, strings.Repeat("n", 40))
	var b strings.Builder
	tb.write(&b)
	checkFits(t, "keep", b.String())
	if !strings.Contains(b.String(), fp) {
		t.Errorf("the kept column was cut:\n%s", b.String())
	}
}

func TestTableWideRunes(t *testing.T) {
	tb := newTable("NAME", "COMMAND")
	tb.row("web.1", strings.Repeat("漢", 60))
	var b strings.Builder
	tb.write(&b)
	checkFits(t, "wide runes", b.String())
	line := strings.Split(b.String(), "\n")[1]
	if !utf8.ValidString(line) || textWidth(line) < tableWidth-1 {
		t.Errorf("wide runes cut to %d columns: %q", textWidth(line), line)
	}
}

// TestListingsFit80Columns: every table, with a 200-character domain, a
// long command, description, URL and add-on name, has its header row and
// fits 80 columns.
func TestListingsFit80Columns(t *testing.T) {
	s, f := populatedServer(t)
	ctx := context.Background()
	longHost := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + ".ddddd.example.com"
	if len(longHost) != 200 {
		t.Fatalf("the long host has %d characters", len(longHost))
	}
	if r := run(s, "domains:add", "web-app", longHost); r.status != 0 {
		t.Fatalf("domains:add: %+v", r)
	}
	f.mu.Lock()
	f.procs["web-app"][0].Command = "bundle exec puma -C config/puma.rb --bind tcp://0.0.0.0:$PORT " + strings.Repeat("--flag ", 20)
	rels := f.releases["web-app"]
	rels[len(rels)-1].Description = "Deploy " + strings.Repeat("d", 150)
	f.certState().listed["web-app"] = append(f.certState().listed["web-app"], paas.Cert{Hosts: []string{longHost}, Source: "acme"})
	f.mu.Unlock()
	if _, err := f.AddDrain(ctx, "web-app", "https://logs.example.com/"+strings.Repeat("p", 150)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args   []string
		header string
	}{
		{[]string{"apps"}, "NAME  "},
		{[]string{"ps", "web-app"}, "NAME  "},
		{[]string{"releases", "web-app"}, "RELEASE  "},
		{[]string{"domains", "web-app"}, "HOST  "},
		{[]string{"certs", "web-app"}, "HOST  "},
		{[]string{"drains", "web-app"}, "#  URL  "},
		{[]string{"addons"}, "NAME  "},
		{[]string{"addons:backups", "shop-postgres"}, "ID  "},
		{[]string{"keys"}, "  USER  "},
		{[]string{"access", "web-app"}, "USER  "},
		{[]string{"audit"}, "TIME  "},
	} {
		r := run(s, c.args...)
		if r.status != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, c.header) {
			t.Errorf("%q: status %d, stderr %q, want a header starting %q:\n%s", c.args, r.status, r.stderr, c.header, r.stdout)
		}
		checkFits(t, strings.Join(c.args, " "), r.stdout)
	}
	// The cut values are whole in --json.
	if r := run(s, "domains", "web-app", "--json"); !strings.Contains(r.stdout, longHost) {
		t.Errorf("domains --json lacks the long host:\n%s", r.stdout)
	}
}
