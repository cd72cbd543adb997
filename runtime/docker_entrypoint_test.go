package runtime

import (
	"testing"

	"github.com/docker/docker/api/types/container"
)

// TestDockerEntrypointGetsTheCommand runs an instance and a one-off of an
// image with an ENTRYPOINT, as official images have: the command reaches
// the ENTRYPOINT as its arguments, split as a shell splits words, with
// nothing expanded.
func TestDockerEntrypointGetsTheCommand(t *testing.T) {
	e := testDocker(t)
	img := e.appImageWith(t, `printf '#!/bin/sh\necho "entrypoint got $#: $*"\nexec "$@"\n' > /usr/local/bin/entry && chmod 755 /usr/local/bin/entry`,
		&container.Config{WorkingDir: ContainerWorkDir, Entrypoint: []string{"entry"}, Cmd: []string{"true"}})

	s := e.spec("worker", 1, `sh -c 'echo "worker says $1"; exec sleep 1000' sh 'two words'`)
	s.Slug = img
	if _, err := e.d.Start(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	e.sink.waitLine(t, e.app, "worker.1", "entrypoint got 5: sh -c echo \"worker says $1\"; exec sleep 1000 sh two words")
	e.sink.waitLine(t, e.app, "worker.1", "worker says two words")

	code, out := e.runOut(t, Spec{App: e.app, Release: 1, Type: "run", Index: 1, Slug: img, Command: `echo $HOME "a  b"`})
	if want := "entrypoint got 3: echo $HOME a  b\n$HOME a  b\n"; code != 0 || out != want {
		t.Errorf("one-off: exit %d, output %q, want %q", code, out, want)
	}
}
