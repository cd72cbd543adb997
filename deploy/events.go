package deploy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"paas"
	"paas/logs"
)

// eventProc is the proc of the platform lines about what paasd does by
// itself (builds, instances starting and stopping, health): they show as
// paas[deploy].
const eventProc = "deploy"

// apiProc is the proc of the lines that record a change a user made (a
// release, a config change, a scale, a restart, access, add-ons), each
// naming the user: they show as paas[api], as Heroku's heroku[api].
const apiProc = "api"

// minScrubbed is the shortest config value that is masked in platform
// lines. Shorter values ("1", "true", "web") are too common in ordinary
// text to mask without garbling it, and the event formats never include
// values in the first place: masking is the second line of defence for
// error text that comes from elsewhere (a builder, a runtime).
const minScrubbed = 6

// scrubMask replaces a config value found in a platform line.
const scrubMask = "***"

// event writes a platform line about the app as a whole, tied to no
// release.
func (s *Service) event(app, format string, args ...any) {
	s.eventRel(app, 0, format, args...)
}

// byUser names, for an event, the user a change is made for (the
// gateway names them in the context of every command and push): " by
// alice", or "" for a change paasd makes by itself.
func byUser(ctx context.Context) string {
	if u := paas.Actor(ctx); u != "" {
		return " by " + u
	}
	return ""
}

// Note writes a platform line about a change to app made outside deploy
// (a certificate, a log drain), naming the user of ctx. Like every event,
// config values are masked in it.
func (s *Service) Note(ctx context.Context, app, format string, args ...any) {
	s.change(app, 0, "%s%s", fmt.Sprintf(format, args...), byUser(ctx))
}

// eventRel writes a platform line about release rel of app (0 when the
// line is about no release in particular) to the app's stream. Any config
// value of the app, current or being rolled out, is masked first, and the
// event stays one line whatever its arguments hold.
func (s *Service) eventRel(app string, rel int, format string, args ...any) {
	s.write(app, eventProc, rel, fmt.Sprintf(format, args...))
}

// change writes the line recording a change a user made to app, of
// release rel (0: none in particular), as paas[api]; masked and one line
// like every event.
func (s *Service) change(app string, rel int, format string, args ...any) {
	s.write(app, apiProc, rel, fmt.Sprintf(format, args...))
}

// write adds a platform line of proc to app's stream, its config values
// masked and its newlines made spaces.
func (s *Service) write(app, proc string, rel int, text string) {
	text = strings.ReplaceAll(s.scrub(app, text), "\n", " ")
	s.cfg.Logs.WriteRelease(app, logs.SourcePaas, proc, rel, text)
}

// scrub masks the app's config values in text: those of its current
// config and of any release being rolled out, and every add-on password.
func (s *Service) scrub(app, text string) string {
	var values []string
	add := func(cfg map[string]string) { values = appendSecrets(values, cfg) }
	if cfg, err := s.cfg.Store.Config(app); err == nil {
		add(cfg)
	}
	values = append(values, s.addonPasswords()...)
	s.secretsMu.Lock()
	for _, e := range s.rolling[app] {
		add(e.cfg)
	}
	s.secretsMu.Unlock()
	return maskValues(text, values)
}

// appendSecrets appends to values the config values of cfg that lines
// mask: a multi-line value (a PEM key) whole and line by line, so that a
// quoted fragment of it is masked too; values shorter than minScrubbed
// are left.
func appendSecrets(values []string, cfg map[string]string) []string {
	for _, v := range cfg {
		for _, part := range append(strings.Split(v, "\n"), v) {
			if part = strings.TrimSpace(part); len(part) >= minScrubbed {
				values = append(values, part)
			}
		}
	}
	return values
}

// maskValues replaces every occurrence of each value in text with
// scrubMask, longest values first so that a value containing another is
// masked whole.
func maskValues(text string, values []string) string {
	slices.SortFunc(values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, v := range values {
		if v != "" && strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, scrubMask)
		}
	}
	return text
}

// rollingConfig registers the config of a release being rolled out so
// that platform lines mask its values before it becomes the app's current
// config. The returned func unregisters it.
func (s *Service) rollingConfig(app string, cfg map[string]string) (done func()) {
	e := &rollingEntry{cfg: maps.Clone(cfg)}
	s.secretsMu.Lock()
	if s.rolling == nil {
		s.rolling = map[string][]*rollingEntry{}
	}
	s.rolling[app] = append(s.rolling[app], e)
	s.secretsMu.Unlock()
	return func() {
		s.secretsMu.Lock()
		defer s.secretsMu.Unlock()
		list := slices.DeleteFunc(s.rolling[app], func(x *rollingEntry) bool { return x == e })
		if len(list) == 0 {
			delete(s.rolling, app)
		} else {
			s.rolling[app] = list
		}
	}
}

// rollingEntry is the config of one release being rolled out.
type rollingEntry struct {
	cfg map[string]string
}

// configChange describes a config change by its key names only: "set A,
// B; unset C". Values never appear.
func configChange(set map[string]string, unset []string) string {
	var parts []string
	if len(set) > 0 {
		parts = append(parts, "set "+strings.Join(slices.Sorted(maps.Keys(set)), ", "))
	}
	if len(unset) > 0 {
		parts = append(parts, "unset "+strings.Join(slices.Sorted(slices.Values(unset)), ", "))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}
