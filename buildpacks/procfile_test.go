package buildpacks

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"paas"
)

func TestParseProcfile(t *testing.T) {
	data := "# processes\n\nweb: bin/server --port $PORT\r\nworker:python worker.py\n  clock :  ./clock # every minute\nrelease: ./migrate: now\n"
	got, err := ParseProcfile([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"web":     "bin/server --port $PORT",
		"worker":  "python worker.py",
		"clock":   "./clock # every minute",
		"release": "./migrate: now",
	}
	if !maps.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestParseProcfileEmpty(t *testing.T) {
	got, err := ParseProcfile([]byte("\n# nothing\n"))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %q, %v; want empty", got, err)
	}
}

func TestParseProcfileErrors(t *testing.T) {
	for _, tc := range []struct{ data, msg string }{
		{"web: a\nworker: b\njust a command\n", `Procfile line 3: expected "type: command"`},
		{"web:\n", `Procfile line 1: expected "type: command"`},
		{": cmd\n", `Procfile line 1: expected "type: command"`},
		{"we b: cmd\n", `Procfile line 1: invalid process type "we b"`},
		{"web.1: cmd\n", `Procfile line 1: invalid process type "web.1"`},
		{"web: a\n\nweb: b\n", `Procfile line 3: process type "web" declared twice`},
		{"web: a\x00b\n", `Procfile line 1: command contains a NUL byte`},
	} {
		_, err := ParseProcfile([]byte(tc.data))
		var pe *paas.Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want a *paas.Error", tc.data, err)
			continue
		}
		if !strings.HasPrefix(pe.Msg, tc.msg) {
			t.Errorf("%q: got %q, want prefix %q", tc.data, pe.Msg, tc.msg)
		}
	}
}

func FuzzParseProcfile(f *testing.F) {
	f.Add([]byte("web: bin/web\nworker: bin/worker\n"))
	f.Add([]byte("# c\n\nweb:x\r\n"))
	f.Add([]byte("web: a\nweb: b"))
	f.Add([]byte("bad line"))
	f.Fuzz(func(t *testing.T, data []byte) {
		types, err := ParseProcfile(data)
		if err != nil {
			var pe *paas.Error
			if !errors.As(err, &pe) || !strings.HasPrefix(pe.Msg, "Procfile line ") {
				t.Fatalf("error %v is not a user-facing Procfile error", err)
			}
			return
		}
		for typ, cmd := range types {
			if paas.ValidateProcessType(typ) != nil {
				t.Fatalf("accepted invalid type %q", typ)
			}
			if cmd == "" || cmd != strings.TrimSpace(cmd) || strings.ContainsAny(cmd, "\n\x00") {
				t.Fatalf("bad command %q for %q", cmd, typ)
			}
		}
	})
}
