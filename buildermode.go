package paas

import "strings"

// How an app is built, as builder:set takes it.
const (
	// BuilderAuto builds a tree with a Dockerfile from its Dockerfile,
	// unless BUILDPACK_URL or a .buildpacks file names buildpacks, and
	// any other tree with the buildpack that detects it. It is the
	// default.
	BuilderAuto = "auto"
	// BuilderDockerfile always builds from the tree's Dockerfile.
	BuilderDockerfile = "dockerfile"
	// BuilderBuildpacks always builds with buildpacks; a Dockerfile is
	// ignored.
	BuilderBuildpacks = "buildpacks"
)

// ParseBuilder checks a builder:set value and returns it normalised; ""
// is BuilderAuto.
func ParseBuilder(s string) (string, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "", BuilderAuto:
		return BuilderAuto, nil
	case BuilderDockerfile, BuilderBuildpacks:
		return v, nil
	}
	return "", Errorf("unknown builder %q: use dockerfile, buildpacks or auto", s)
}
