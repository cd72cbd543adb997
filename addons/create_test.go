package addons

import (
	"context"
	"errors"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"

	"paas"
)

// checkNothingLeft checks that service name has no container and no
// volume.
func checkNothingLeft(t *testing.T, env *testEnv, name string) {
	t.Helper()
	if _, err := env.cli.ContainerInspect(t.Context(), containerName(name)); !cerrdefs.IsNotFound(err) {
		t.Errorf("container of %s left: %v", name, err)
	}
	if _, err := env.cli.VolumeInspect(t.Context(), volumeName(name)); !cerrdefs.IsNotFound(err) {
		t.Errorf("volume of %s left: %v", name, err)
	}
}

// TestCreateFailureLeavesNothing creates a service whose engine exits at
// once: Create fails with the service's last words and leaves neither
// container nor volume.
func TestCreateFailureLeavesNothing(t *testing.T) {
	env := testDocker(t)
	e := *engines[Redis]
	e.image = "paas/" + randomName("addon-test-failing") + ":t"
	e.run = "#!/bin/sh\necho engine refuses to start >&2\nexit 3\n"
	e.install = "mkdir -p /usr/share/paas-addon && echo 'Redis server v=7.0.1 sha=0' > " + versionFile + " && echo 100:101 > " + userFile
	t.Cleanup(func() { env.cli.ImageRemove(context.Background(), e.image, image.RemoveOptions{}) })
	name := randomName("t-failing")
	t.Cleanup(func() { env.d.Destroy(context.Background(), name) })
	_, err := env.d.create(t.Context(), name, &e, NewPassword(), env.out)
	if err == nil || !strings.Contains(err.Error(), "engine refuses to start") {
		t.Fatalf("Create of a failing engine: %v", err)
	}
	checkNothingLeft(t, env, name)
}

// TestCreateRefuses refuses bad input and a taken name with a user-facing
// error, changing nothing.
func TestCreateRefuses(t *testing.T) {
	env := testDocker(t)
	for _, c := range []struct{ name, engine, want string }{
		{randomName("t"), "mysql", `unknown engine "mysql"`},
		{"Bad_Name", Redis, `invalid add-on name "Bad_Name"`},
		{"-x", Redis, `invalid add-on name "-x"`},
	} {
		_, err := env.d.Create(t.Context(), c.name, c.engine, NewPassword(), env.out)
		var pe *paas.Error
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &pe) {
			t.Errorf("Create(%q, %q): %v, want a paas.Error with %s", c.name, c.engine, err, c.want)
		}
		checkNothingLeft(t, env, c.name)
	}
	if _, err := env.d.Create(t.Context(), randomName("t"), Redis, "x'; drop", env.out); err == nil {
		t.Error("Create with a password NewPassword does not make succeeded")
	}

	s := createService(t, env, Redis)
	if _, err := env.d.Create(t.Context(), s.name, Postgres, NewPassword(), env.out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("Create of a taken name: %v", err)
	}
	checkStatus(t, s)
}
