package main

import (
	"io"
	"strings"
	"testing"
)

// TestKeepBuildsSetting reads PAAS_KEEP_BUILDS, and PAAS_KEEP_RELEASES as
// its old name; the two disagreeing is an error.
func TestKeepBuildsSetting(t *testing.T) {
	load := func(env map[string]string, args ...string) (config, error) {
		return loadConfig(args, func(k string) string { return env[k] }, io.Discard)
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want int
	}{
		{nil, nil, 10},
		{map[string]string{"PAAS_KEEP_BUILDS": "4"}, nil, 4},
		{map[string]string{"PAAS_KEEP_RELEASES": "3"}, nil, 3},
		{map[string]string{"PAAS_KEEP_BUILDS": "5", "PAAS_KEEP_RELEASES": "5"}, nil, 5},
		{map[string]string{"PAAS_KEEP_BUILDS": "0"}, nil, 0},
		{nil, []string{"-keep-builds", "7"}, 7},
		{nil, []string{"-keep-releases", "6"}, 6},
	} {
		got, err := load(c.env, c.args...)
		if err != nil || got.KeepBuilds != c.want {
			t.Errorf("%v %v: %d, %v; want %d", c.env, c.args, got.KeepBuilds, err, c.want)
		}
	}
	for env, prefix := range map[string]string{"PAAS_KEEP_BUILDS": "PAAS_KEEP_BUILDS: ", "PAAS_KEEP_RELEASES": "PAAS_KEEP_RELEASES: "} {
		if _, err := load(map[string]string{env: "-1"}); err == nil || !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("%s=-1: %v", env, err)
		}
	}
	if _, err := load(map[string]string{"PAAS_KEEP_BUILDS": "5", "PAAS_KEEP_RELEASES": "2"}); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("disagreeing settings: %v", err)
	}
}
