package builder

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// unsupportedLanguage is a language no built-in buildpack builds, known
// by the files that mark its apps.
type unsupportedLanguage struct {
	name  string
	files []string
}

var unsupportedLanguages = []unsupportedLanguage{
	{"Ruby", []string{"Gemfile", "config.ru", "Rakefile"}},
	{"PHP", []string{"composer.json"}},
	{"Java", []string{"pom.xml", "build.gradle", "build.gradle.kts"}},
	{"Scala", []string{"build.sbt"}},
	{"Clojure", []string{"project.clj", "deps.edn"}},
	{"Elixir", []string{"mix.exs"}},
	{"Rust", []string{"Cargo.toml"}},
	{".NET", []string{"global.json", "NuGet.config"}},
}

// warnUnsupported writes a warning when a tree built by the bare
// Procfile buildpack looks like an app of a language no built-in
// buildpack builds: nothing installs its runtime or dependencies, so
// its Procfile commands are likely not to be found when it starts.
func warnUnsupported(root *os.Root, bps []buildpack, out io.Writer) {
	if len(bps) != 1 || bps[0].ref != "procfile" {
		return
	}
	for _, l := range unsupportedLanguages {
		var found []string
		for _, f := range l.files {
			if fi, err := root.Stat(f); err == nil && fi.Mode().IsRegular() {
				found = append(found, f)
			}
		}
		if len(found) > 0 {
			fmt.Fprintf(out, " !     warning: this looks like a %s app (%s), and no built-in buildpack builds %s: nothing installs its runtime or dependencies, the Procfile's commands run as they are; name a %s buildpack in BUILDPACK_URL or .buildpacks\n",
				l.name, strings.Join(found, ", "), l.name, l.name)
			return
		}
	}
}
