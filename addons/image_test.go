package addons

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
)

// TestImageBuild builds each engine's image under a test tag from the
// stack image: it is labelled with its engine and version, and a second
// ensureImage finds it without building.
func TestImageBuild(t *testing.T) {
	for _, name := range Engines() {
		t.Run(name, func(t *testing.T) {
			env := testDocker(t)
			e := *engines[name]
			e.image = "paas/" + randomName("addon-test-"+name) + ":t"
			t.Cleanup(func() {
				env.cli.ImageRemove(context.Background(), e.image, image.RemoveOptions{})
			})
			ref, info, err := env.d.ensureImage(t.Context(), &e, env.out)
			v := info.version
			if err != nil {
				t.Fatalf("ensureImage: %v\n%s", err, env.out)
			}
			if ref != e.image {
				t.Errorf("ensureImage = %s, want %s", ref, e.image)
			}
			if !regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`).MatchString(v) {
				t.Errorf("version %q", v)
			}
			want := map[string]string{Postgres: "15.", Redis: "7."}[name]
			if !strings.HasPrefix(v, want) {
				t.Errorf("version %q, want %s*", v, want)
			}
			insp, err := env.cli.ImageInspect(t.Context(), e.image)
			if err != nil {
				t.Fatal(err)
			}
			if l := insp.Config.Labels; l[LabelEngine] != name || l[LabelVersion] != v || !userLabel.MatchString(l[LabelUser]) || info.uid == 0 {
				t.Errorf("labels %v", l)
			}
			if _, err := env.cli.ImageInspect(t.Context(), e.image+"-build"); err == nil {
				t.Errorf("build tag %s-build left", e.image)
			}
			out := env.out.String()
			t.Logf("build output:\n%s", out)
			if !strings.Contains(out, "Building "+e.image) {
				t.Errorf("output lacks the build:\n%s", out)
			}
			env2 := testDocker(t)
			_, info2, err := env2.d.ensureImage(t.Context(), &e, env2.out)
			if err != nil || info2 != info {
				t.Fatalf("second ensureImage: %+v, %v", info2, err)
			}
			if env2.out.String() != "" {
				t.Errorf("second ensureImage built:\n%s", env2.out)
			}
		})
	}
}
