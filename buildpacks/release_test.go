package buildpacks

import (
	"maps"
	"testing"
)

func TestParseRelease(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       map[string]string
	}{
		{"block", "---\naddons: []\nconfig_vars:\n  A: b\ndefault_process_types:\n  web: bin/web --port $PORT # the server\n  worker: \"python w.py \\\"x\\\"\"\n  'clock': 'it''s #1'\n", map[string]string{
			"web": "bin/web --port $PORT", "worker": `python w.py "x"`, "clock": "it's #1",
		}},
		{"empty map", "---\ndefault_process_types: {}\n", map[string]string{}},
		{"null", "default_process_types: ~\n", map[string]string{}},
		{"doc only", "--- {}\n", map[string]string{}},
		{"nothing", "", map[string]string{}},
		{"later key ends block", "default_process_types:\n  web: a\nconfig_vars:\n  X: y\n", map[string]string{"web": "a"}},
	} {
		got, err := ParseRelease([]byte(tc.data))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseReleaseErrors(t *testing.T) {
	for _, data := range []string{
		"default_process_types: {web: a}\n",
		"default_process_types:\n  web\n",
		"default_process_types:\n  web: \"open\n",
		"default_process_types:\n  web: 'open\n",
		"default_process_types:\n  web:\n",
		"not yaml at all\n",
	} {
		if got, err := ParseRelease([]byte(data)); err == nil {
			t.Errorf("%q: got %q, want an error", data, got)
		}
	}
}

func FuzzParseRelease(f *testing.F) {
	f.Add([]byte("---\ndefault_process_types:\n  web: a\n  w: \"b\\n\"\n"))
	f.Add([]byte("default_process_types: {}\n"))
	f.Add([]byte("default_process_types:\n  'x': 'y''z'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		types, err := ParseRelease(data)
		if err != nil {
			return
		}
		for typ, cmd := range types {
			if typ == "" || cmd == "" {
				t.Fatalf("empty type or command: %q: %q", typ, cmd)
			}
		}
	})
}
