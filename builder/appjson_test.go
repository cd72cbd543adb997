package builder

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paas"
)

// readManifest writes body as app.json in a fresh tree and reads it.
func readManifest(t *testing.T, body string) (manifest, string, error) {
	t.Helper()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "app.json"), []byte(body), 0o644))
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	var out bytes.Buffer
	m, err := readAppJSON(root, &out)
	return m, out.String(), err
}

func TestAppJSONWithCommentsAndTrailingCommas(t *testing.T) {
	m, out, err := readManifest(t, `{
	// Dokku and Heroku users keep notes in app.json
	"healthchecks": {
		"web": [
			{"path": "/ready", "content": "ready", "attempts": 2,}, /* trailing comma */
		],
	},
	"formation": {
		"web": {"quantity": 2, "size": "standard-2x"},
		"worker": {"quantity": 1, "size": "512m"},
		"clock": {"size": "gigantic-9x"},
	},
	"scripts": {"postdeploy": "python3 seed.py", "pr-predestroy": "true"},
	"name": "demo", "addons": ["heroku-postgresql"], "env": {},
	"buildpackz": [],
}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Healthchecks) != 1 || m.Healthchecks[0] != (paas.Healthcheck{Path: "/ready", Content: "ready", Attempts: 2}) {
		t.Errorf("health checks %+v", m.Healthchecks)
	}
	want := map[string]ProcessFormation{
		"web":    {Quantity: 2, Memory: 1 << 30},
		"worker": {Quantity: 1, Memory: 512 << 20},
		"clock":  {Quantity: -1},
	}
	if len(m.Formation) != len(want) {
		t.Errorf("formation %+v, want %+v", m.Formation, want)
	}
	for typ, f := range want {
		if m.Formation[typ] != f {
			t.Errorf("formation of %s: %+v, want %+v", typ, m.Formation[typ], f)
		}
	}
	if m.Postdeploy != "python3 seed.py" {
		t.Errorf("postdeploy %q", m.Postdeploy)
	}
	for _, line := range []string{
		"       app.json: ignoring addons, env, name (not used by this platform)\n",
		"       warning: app.json: unknown key(s) \"buildpackz\" ignored\n",
		"       warning: app.json: scripts \"pr-predestroy\" not run: only postdeploy is\n",
		"       warning: app.json formation: unknown size(s) clock: \"gigantic-9x\" ignored",
		"       app.json formation (for the first deploy): clock, web=2 memory=1g, worker=1 memory=512m\n",
		"       app.json postdeploy (run after the first deploy): python3 seed.py\n",
	} {
		if strings.Count(out, line) != 1 {
			t.Errorf("output does not hold once %q:\n%s", line, out)
		}
	}
	if n := strings.Count(out, "unknown key"); n != 1 {
		t.Errorf("%d unknown-key lines, want one:\n%s", n, out)
	}
}

func TestAppJSONErrorsNameTheLine(t *testing.T) {
	for body, want := range map[string]string{
		// A missing comma after a comment: the position is the file's.
		"{\n  // a comment\n  \"scripts\": {}\n  \"formation\": {}\n}\n":                        "app.json is not valid JSON: line 4, column 3: invalid character '\"' after object value",
		"{\n  /* a comment */ \"formation\": {\n    \"web\": {\"quantity\": \"two\"}\n  }\n}\n": "app.json line 3, column 25: formation.web.quantity must be a number, not string",
		"{\"healthchecks\": {\"web\": [{\"timeout\": -1}]}}":                                    "app.json healthchecks.web[0]: timeout, attempts, wait and initialDelay must be small non-negative numbers",
		"{\"formation\": {\"web\": {\"quantity\": 1000}}}":                                      "app.json formation.web.quantity: 1000 is not a count from 0 to 100",
		"{\"formation\": {\"release\": {\"quantity\": 1}}}":                                     "app.json formation: release is the release phase",
		"{\"healthchecks\": {\"web\": [{}, {\"path\": 3}]}}":                                    "app.json line 1, column 40: healthchecks.web[1].path must be a string, not number",
		"{\"scripts\": {\"postdeploy\": 3}}":                                                    "app.json scripts.postdeploy: must be a command string",
		"[]":                                                                                    "app.json line 1, column 1: the top level must be an object, not array",
		"{\"a\": 1} {}":                                                                         "app.json is not valid JSON: line 1, column 10: invalid character '{' after top-level value",
	} {
		_, _, err := readManifest(t, body)
		msg, ok := paas.UserMessage(err)
		if !ok || !strings.HasPrefix(msg, want) {
			t.Errorf("%q: error %v, want a message starting %q", body, err, want)
		}
	}
}

func TestAppJSONObjectPostdeployAndNoWarnings(t *testing.T) {
	m, out, err := readManifest(t, `{"scripts": {"postdeploy": {"command": "./seed", "size": "standard-1x"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if m.Postdeploy != "./seed" {
		t.Errorf("postdeploy %q", m.Postdeploy)
	}
	if strings.Contains(out, "warning") || strings.Contains(out, "ignoring") {
		t.Errorf("warnings for a manifest of used keys:\n%s", out)
	}
}
