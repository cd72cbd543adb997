package logs

import (
	"fmt"
	"path/filepath"
	"time"
)

// damageLine is the synthetic line a reader gets where the history on
// disk is damaged: the rest of the segment named is skipped, and reading
// goes on with the next one.
func damageLine(app, path string) Line {
	return Line{
		Time:   time.Now().UTC(),
		App:    app,
		Source: SourcePaas,
		Proc:   "logs",
		Text:   fmt.Sprintf("log history damaged on disk: the rest of segment %s cannot be read and is skipped", filepath.Base(path)),
	}
}

// reportDamage logs, for the operator, a damaged segment a reader found.
func (a *Aggregator) reportDamage(app, path string) {
	a.log.Warn("log segment damaged", "app", app, "segment", path,
		"note", "the lines after the damaged spot cannot be read and are skipped; the other segments and apps are unaffected; the file is kept for inspection")
}
