package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"paas/shellwords"
)

// TestDashboard: paas dashboard prints the login URL dashboard:url gives
// and opens it only when stdout is a terminal and a browser can show it.
func TestDashboard(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "args")
	script := filepath.Join(dir, "ssh")
	const loginURL = "https://dashboard.example.com/login?token=abc"
	body := "#!/bin/bash\nprintf '%s\\0' \"$@\" > " + shellwords.Quote(record) + "\necho '" + loginURL + "'\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		vars     map[string]string
		terminal bool
		opened   bool
	}{
		{map[string]string{"DISPLAY": ":0"}, true, true},
		{map[string]string{"BROWSER": "firefox"}, true, true},
		{map[string]string{"DISPLAY": ":0"}, false, false},
		{nil, true, false},
	} {
		vars := map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h"}
		for k, v := range tc.vars {
			vars[k] = v
		}
		env := envOf(vars, "")
		env.StdoutIsTerminal = tc.terminal
		var opened []string
		env.OpenURL = func(u string) error { opened = append(opened, u); return nil }
		var out, errb bytes.Buffer
		env.Stdout, env.Stderr = &out, &errb
		if st := Main([]string{"dashboard"}, env); st != 0 || out.String() != loginURL+"\n" || errb.Len() != 0 {
			t.Errorf("%v: status %d, stdout %q, stderr %q", tc.vars, st, out.String(), errb.String())
		}
		if (len(opened) == 1 && opened[0] == loginURL) != tc.opened || len(opened) > 1 {
			t.Errorf("%v, terminal %v: opened %q", tc.vars, tc.terminal, opened)
		}
		if got := recorded(t, record); got[len(got)-1] != "dashboard:url" {
			t.Errorf("ran ssh %q", got)
		}
	}
	// A server that says something else: one line, exit 1.
	if err := os.WriteFile(script, []byte("#!/bin/bash\necho 'javascript:alert(1)'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"PAAS_SSH_COMMAND": script, "PAAS_HOST": "h", "DISPLAY": ":0"}, "")
	env.StdoutIsTerminal = true
	env.OpenURL = func(u string) error { t.Errorf("opened %q", u); return nil }
	var out, errb bytes.Buffer
	env.Stdout, env.Stderr = &out, &errb
	if st := Main([]string{"dashboard"}, env); st != 1 || out.Len() != 0 || errb.String() != "paas: the server sent no dashboard URL\n" {
		t.Errorf("no URL: %d %q %q", st, out.String(), errb.String())
	}
}
