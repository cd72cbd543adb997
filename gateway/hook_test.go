package gateway

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunHookFailures(t *testing.T) {
	e := startServer(t)
	refs := "1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 refs/heads/main\n"
	tests := []struct {
		environ []string
		want    string
	}{
		{nil, "paas: hook: PAAS_HOOK_SOCKET and PAAS_HOOK_TOKEN are not set"},
		{[]string{"PAAS_HOOK_SOCKET=" + filepath.Join(t.TempDir(), "none.sock"), "PAAS_HOOK_TOKEN=x"}, "paas: cannot reach paasd"},
		{[]string{"PAAS_HOOK_SOCKET=" + e.s.socketPath(), "PAAS_HOOK_TOKEN=forged"}, "paas: unknown hook token"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		st := RunHook(strings.NewReader(refs), &out, &errb, tt.environ)
		if st != 1 || !strings.HasPrefix(errb.String(), tt.want) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("RunHook(%q) = %d, stderr %q; want %q", tt.environ, st, errb.String(), tt.want)
		}
	}
	if len(e.f.deployList()) != 0 {
		t.Error("a failed hook deployed")
	}
}

func TestQuarantineEnv(t *testing.T) {
	repo := "/data/repos/app.git"
	env, err := quarantineEnv(repo, map[string]string{
		"GIT_DIR":                          "/elsewhere",
		"GIT_OBJECT_DIRECTORY":             repo + "/objects/tmp_objdir-incoming-x",
		"GIT_ALTERNATE_OBJECT_DIRECTORIES": repo + "/objects",
		"GIT_QUARANTINE_PATH":              repo + "/objects/tmp_objdir-incoming-x",
	})
	if err != nil || !strings.Contains(strings.Join(env, "\n"), "GIT_DIR="+repo+"\n") {
		t.Errorf("quarantineEnv = %q, %v", env, err)
	}
	for _, bad := range []string{"/data/repos/other.git/objects", repo + "/../other.git", "relative/objects"} {
		if _, err := quarantineEnv(repo, map[string]string{"GIT_OBJECT_DIRECTORY": bad}); err == nil {
			t.Errorf("quarantineEnv accepted %q", bad)
		}
	}
}
