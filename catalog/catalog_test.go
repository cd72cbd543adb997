package catalog

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		typed string
		first string // "" when nothing should be suggested
	}{
		{"config:st", "config:set"},
		{"log", "logs"},
		{"LOGS:", "logs"},
		{"scale", "ps:scale"},
		{"create", "apps:create"},
		{"domain:add", "domains:add"},
		{"domain:ad", "domains:add"},
		{"apps:craete", "apps:create"},
		{"relases", "releases"},
		{"rollbak", "rollback"},
		{"addons:backup", "addons:backup"},
		{"ps:sc", "ps:scale"},
		{"x", ""},
		{"frobnicate", ""},
		{"", ""},
	} {
		got := Suggest(tc.typed)
		if tc.first == "" {
			if len(got) != 0 {
				t.Errorf("Suggest(%q) = %q, want nothing", tc.typed, got)
			}
			continue
		}
		if len(got) == 0 || got[0] != tc.first {
			t.Errorf("Suggest(%q) = %q, want %q first", tc.typed, got, tc.first)
		}
		if len(got) > maxSuggestions {
			t.Errorf("Suggest(%q) = %q: more than %d", tc.typed, got, maxSuggestions)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct{ name, client, ssh string }{
		{"config:set", "paas config:set KEY=VALUE... | --file .env [-a APP]", "config:set APP KEY=VALUE... | < .env"},
		{"apps", "paas apps", "apps"},
		{"apps:create", "paas apps:create APP", "apps:create APP"},
		{"run", "paas run [-a APP] [-d|--detach] [--] CMD [ARGS...]", "run APP [-d|--detach] [--] CMD [ARGS...]"},
		{"addons:attach", "paas addons:attach NAME [--as VAR] [-a APP]", "addons:attach NAME APP [--as VAR]"},
		{"addons:detach", "paas addons:detach NAME [-a APP]", "addons:detach NAME APP"},
		{"addons", "paas addons [--all] [-a APP]", "addons [APP]"},
		{"certs:add", "paas certs:add CERT_FILE KEY_FILE [-a APP]", "certs:add APP < CHAIN_AND_KEY.pem"},
		{"keys:add", "paas keys:add USER [--admin] [KEY_FILE]", "keys:add USER [--admin] < KEY.pub"},
		{"addons:backup", "paas addons:backup NAME [--from ID] > FILE", "addons:backup NAME [--from ID] > FILE"},
	} {
		c, ok := Lookup(tc.name)
		if !ok {
			t.Fatalf("Lookup(%q) found nothing", tc.name)
		}
		if got := c.ClientUsage(); got != tc.client {
			t.Errorf("%s ClientUsage = %q, want %q", tc.name, got, tc.client)
		}
		if got := c.SSHUsage(); got != tc.ssh {
			t.Errorf("%s SSHUsage = %q, want %q", tc.name, got, tc.ssh)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found a command")
	}
}

// TestEntries checks what help relies on: each command once, a known
// topic, a one-line summary in lower case without a final period, an
// example of the command itself.
func TestEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range All() {
		if seen[c.Name] {
			t.Errorf("%s is listed twice", c.Name)
		}
		seen[c.Name] = true
		if !slices.Contains(Topics(), c.Topic) {
			t.Errorf("%s: unknown topic %q", c.Name, c.Topic)
		}
		if c.Summary == "" || strings.HasSuffix(c.Summary, ".") || unicode.IsUpper(rune(c.Summary[0])) || strings.Contains(c.Summary, "\n") {
			t.Errorf("%s: summary %q is not one lower-case line without a final period", c.Name, c.Summary)
		}
		if !strings.HasPrefix(c.Example, "paas "+c.Name) {
			t.Errorf("%s: example %q does not run it", c.Name, c.Example)
		}
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				if !strings.HasPrefix(n, "-") {
					t.Errorf("%s: flag %q", c.Name, n)
				}
			}
		}
	}
}

func TestListFits80Columns(t *testing.T) {
	var b bytes.Buffer
	WriteList(&b)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for _, l := range lines {
		if len(l) > 80 {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
	for _, c := range All() {
		if !strings.Contains(b.String(), "  "+c.Name+" ") {
			t.Errorf("the list lacks %s", c.Name)
		}
	}
	// Topics come in order, apps first.
	if !strings.HasPrefix(b.String(), "apps:\n") {
		t.Errorf("the list does not start with the apps topic:\n%s", b.String())
	}
}

func TestWriteHelp(t *testing.T) {
	c, _ := Lookup("logs")
	var b bytes.Buffer
	c.WriteHelp(&b)
	for _, want := range []string{"usage: paas logs [-n N]", "-t, --tail", "--ps, -d, --dyno TYPE|TYPE.N", "-a, --app APP", "example:\n  paas logs -t"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("logs help lacks %q:\n%s", want, b.String())
		}
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if len(l) > 80 {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
	if !c.TakesValue("-n") || !c.TakesValue("--dyno") || c.TakesValue("-t") {
		t.Error("TakesValue does not follow the flags")
	}
}

// TestSuggestTies: equally near names are all suggested, nearer ones alone.
func TestSuggestTies(t *testing.T) {
	for typed, want := range map[string][]string{
		"config:st": {"config:set"},
		"create":    {"apps:create", "addons:create"},
		"destroy":   {"apps:destroy", "addons:destroy"},
	} {
		if got := Suggest(typed); !slices.Equal(got, want) {
			t.Errorf("Suggest(%q) = %q, want %q", typed, got, want)
		}
	}
}
