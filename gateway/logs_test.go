package gateway

import (
	"errors"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/logs"
)

func TestParseLogsArgs(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	good := []struct {
		args []string
		q    logs.Query
		f    logs.Format
	}{
		{nil, logs.Query{N: 100}, logs.Format{}},
		{[]string{"-n", "5", "-t", "--ps", "web.2"}, logs.Query{N: 5, Follow: true, Filter: logs.Filter{Proc: "web.2"}}, logs.Format{}},
		{[]string{"--source", "paas", "--json", "--tail"}, logs.Query{N: 100, Follow: true, Filter: logs.Filter{Source: "paas"}}, logs.Format{JSON: true}},
		{[]string{"--since", "10m"}, logs.Query{N: -1, Since: now.Add(-10 * time.Minute)}, logs.Format{}},
		{[]string{"-t", "--color"}, logs.Query{N: 100, Follow: true}, logs.Format{Color: true}},
		{[]string{"--since=2026-11-26T10:00:00Z", "-n", "3"}, logs.Query{N: 3, Since: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}, logs.Format{}},
		{[]string{"-d", "worker"}, logs.Query{N: 100, Filter: logs.Filter{Proc: "worker"}}, logs.Format{}},
		{[]string{"--dyno=web.1", "-t"}, logs.Query{N: 100, Follow: true, Filter: logs.Filter{Proc: "web.1"}}, logs.Format{}},
	}
	for _, c := range good {
		q, f, err := parseLogsArgs(c.args, now)
		if err != nil || q != c.q || f != c.f {
			t.Errorf("%q: %+v %+v %v, want %+v %+v", c.args, q, f, err, c.q, c.f)
		}
	}
	bad := map[string][]string{
		`invalid --since "yesterday"`: {"--since", "yesterday"},
		`invalid --source "router"`:   {"--source", "router"},
		`invalid line count "-2"`:     {"-n", "-2"},
		"flag --json takes no value":  {"--json=yes"},
		"flag --since needs a value":  {"--since"},
		"unknown flag --colour":       {"--colour"},
		`invalid process type "web!"`: {"-d", "web!"},
	}
	for want, args := range bad {
		_, _, err := parseLogsArgs(args, now)
		var pe *paas.Error
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want a user error containing %q", args, err, want)
		}
	}
}
