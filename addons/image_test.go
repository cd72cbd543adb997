package addons

import (
	"context"
	"io"
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

// TestImageStackAndSecurity builds a small service image: the build adds
// the stack suite's security archive and labels the image with the stack
// image's ID; an image labelled with another stack image is rebuilt.
func TestImageStackAndSecurity(t *testing.T) {
	env := testDocker(t)
	e := *engines[Redis]
	e.image = "paas/" + randomName("addon-test-stack") + ":t"
	e.install = "mkdir -p /usr/share/paas-addon && echo 'Redis server v=7.0.1 sha=0' > " + versionFile + " && echo 100:101 > " + userFile
	t.Cleanup(func() { env.cli.ImageRemove(context.Background(), e.image, image.RemoveOptions{}) })
	env.d.cfg.SecurityMirror = "http://deb.debian.org/debian-security"
	if _, _, err := env.d.ensureImage(t.Context(), &e, env.out); err != nil {
		t.Fatalf("ensureImage: %v\n%s", err, env.out)
	}
	stackInsp, err := env.cli.ImageInspect(t.Context(), env.stack)
	if err != nil {
		t.Fatal(err)
	}
	insp, err := env.cli.ImageInspect(t.Context(), e.image)
	if err != nil {
		t.Fatal(err)
	}
	if got := insp.Config.Labels[LabelStack]; got != stackInsp.ID {
		t.Errorf("label %s = %q, want %s", LabelStack, got, stackInsp.ID)
	}
	sources, err := env.d.readImageFile(t.Context(), e.image, "/etc/apt/sources.list.d/paas-security.list")
	if err != nil || strings.TrimSpace(sources) != "deb http://deb.debian.org/debian-security bookworm-security main" {
		t.Errorf("security sources: %q, %v", sources, err)
	}
	if !strings.Contains(env.out.String(), "bookworm-security") {
		t.Errorf("the build did not fetch the security suite:\n%s", env.out)
	}

	// An image of another stack image is rebuilt.
	if err := env.d.build(t.Context(), e.image, "FROM "+e.image+"\n", nil, map[string]string{LabelStack: "sha256:0123"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if _, _, err := env.d.ensureImage(t.Context(), &e, &out); err != nil {
		t.Fatalf("ensureImage: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "built from another stack image: rebuilding") {
		t.Errorf("no rebuild:\n%s", out.String())
	}
	if insp, err := env.cli.ImageInspect(t.Context(), e.image); err != nil || insp.Config.Labels[LabelStack] != stackInsp.ID {
		t.Errorf("rebuilt image: %v", err)
	}
	out.Reset()
	if _, _, err := env.d.ensureImage(t.Context(), &e, &out); err != nil || out.Len() != 0 {
		t.Errorf("third ensureImage: %v\n%s", err, out.String())
	}
}
