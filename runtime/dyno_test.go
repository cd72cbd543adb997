package runtime

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"
)

func TestDynoEnv(t *testing.T) {
	got, err := dynoEnv(map[string]string{"B": "2", "HOME": "/elsewhere", "PORT": "1"}, "/slug", "/bin", 5000, "TERM", "vt100")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"B=2", "HOME=/slug", "PATH=/slug/bin:/bin", "PORT=5000", "TERM=vt100"}
	if !slices.Equal(got, want) {
		t.Errorf("env = %q, want %q", got, want)
	}
	for _, bad := range []map[string]string{{"": "x"}, {"A=B": "x"}, {"A\x00": "x"}, {"A": "x\x00y"}} {
		if _, err := dynoEnv(bad, "/slug", "/bin", 0); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDynoCmdPassesCommandAsArgument(t *testing.T) {
	cmd := dynoCmd("/bin/bash", "/slug", nil, `echo "$(id)"; -rm`)
	if want := []string{"/bin/bash", "-c", dynoScript, dynoArg0, `echo "$(id)"; -rm`}; !slices.Equal(cmd.Args, want) {
		t.Errorf("args = %q", cmd.Args)
	}
}

func TestWaitListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := WaitListening(ctx, addr); err != nil {
		t.Errorf("listening: %v", err)
	}
	l.Close()
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := WaitListening(ctx, addr); err == nil {
		t.Error("closed port reported as listening")
	}
}
