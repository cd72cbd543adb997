package builder

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// appPath matches /app used as a path in a command: "/app", "/app/bin/x",
// "cd /app", "--root=/app/public".
var appPath = regexp.MustCompile(`(^|[\s'"=:;(&|])/app(/|$|[\s'";)&|])`)

// warnAppPaths warns, in one line, of process types whose commands use
// /app, where Heroku and the docker runtime keep the app: the exec runtime
// runs each app from its own slug directory (its $HOME), and nothing is
// at /app.
func warnAppPaths(out io.Writer, types map[string]string) {
	var uses []string
	for _, t := range slices.Sorted(maps.Keys(types)) {
		if appPath.MatchString(types[t]) {
			uses = append(uses, t)
		}
	}
	if len(uses) == 0 {
		return
	}
	subject := "Process type " + uses[0] + " uses"
	if len(uses) > 1 {
		subject = "Process types " + strings.Join(uses, ", ") + " use"
	}
	fmt.Fprintf(out, " !     %s /app: this server runs apps from their own directory ($HOME), not /app; use $HOME or relative paths\n", subject)
}
