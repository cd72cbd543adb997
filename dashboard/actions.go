package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"paas"
	"paas/access"
	"paas/drains"
)

// actionSpec is one POST of an app's pages: the SSH command it does,
// with the same door (access.Change), the same service call, the actor
// named, and an audit entry.
type actionSpec struct {
	name string // the path after /apps/APP/
	// do runs the action; it returns the command line the audit log
	// records (secrets masked) and where to go next.
	do func(h *Handler, ctx context.Context, app string, r *http.Request) (audit, next string, err error)
}

var actions = []actionSpec{
	{"scale", (*Handler).scale},
	{"restart", (*Handler).restart},
	{"config", (*Handler).setConfig},
	{"config/unset", (*Handler).unsetConfig},
	{"rollback", (*Handler).rollback},
	{"domains", (*Handler).addDomain},
	{"domains/remove", (*Handler).removeDomain},
	{"drains", (*Handler).addDrain},
	{"drains/remove", (*Handler).removeDrain},
}

// action serves one action: the user must be allowed to change the app.
func (h *Handler) action(a actionSpec) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		app := r.PathValue("app")
		start := h.now()
		if err := h.allow(s.u, access.Change, app); err != nil {
			h.failErr(w, r, s, app, err)
			return
		}
		ctx := paas.WithActor(r.Context(), s.u.name)
		line, next, err := a.do(h, ctx, app, r)
		status := 0
		if err != nil {
			status = 1
		}
		if line != "" {
			h.record(s, r, start, line, app, status)
		}
		if err != nil {
			h.failErr(w, r, s, app, err)
			return
		}
		h.log.Info("dashboard action", "by", s.u.name, "app", app, "command", line)
		http.Redirect(w, r, "/apps/"+app+next, http.StatusSeeOther)
	}
}

// record writes an action to the audit log, marked as the dashboard's.
func (h *Handler) record(s *session, r *http.Request, start time.Time, line, app string, status int) {
	if h.cfg.Audit == nil {
		return
	}
	e := paas.AuditEntry{
		Time:        start.UTC(),
		User:        s.user,
		Fingerprint: s.fingerprint,
		Remote:      r.RemoteAddr,
		Command:     auditMarker + " " + line,
		App:         app,
		Status:      status,
		DurationMS:  h.now().Sub(start).Milliseconds(),
	}
	if err := h.cfg.Audit.Record(e); err != nil {
		h.log.Error("audit entry not recorded", "by", e.User, "command", e.Command, "status", status, "err", err)
	}
}

// auditMarker starts the command line of every audit entry of the
// dashboard's.
const auditMarker = "dashboard"

// scale: ps:scale APP TYPE=N.
func (h *Handler) scale(ctx context.Context, app string, r *http.Request) (string, string, error) {
	typ := r.PostFormValue("type")
	n, err := strconv.Atoi(r.PostFormValue("count"))
	if err := paas.ValidateProcessType(typ); err != nil {
		return "", "", err
	}
	if err != nil || n < 0 || n > 100 {
		return "", "", paas.Errorf("invalid count %q: use a whole number from 0 to 100", r.PostFormValue("count"))
	}
	line := fmt.Sprintf("ps:scale %s %s=%d", app, typ, n)
	var out bytes.Buffer
	return line, "/formation", h.cfg.Platform.Scale(ctx, app, map[string]int{typ: n}, &out)
}

// restart: ps:restart APP [TYPE|TYPE.N].
func (h *Handler) restart(ctx context.Context, app string, r *http.Request) (string, string, error) {
	target := r.PostFormValue("target")
	line := "ps:restart " + app
	if target != "" {
		if !restartTarget.MatchString(target) {
			return "", "", paas.Errorf("invalid restart target %q: use TYPE or TYPE.N", target)
		}
		line += " " + target
	}
	var out bytes.Buffer
	return line, "/formation", h.cfg.Platform.Restart(ctx, app, target, &out)
}

// restartTarget is ps:restart's TYPE or TYPE.N.
var restartTarget = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}(\.[1-9][0-9]{0,5})?$`)

// setConfig: config:set APP KEY=VALUE, one new release.
func (h *Handler) setConfig(ctx context.Context, app string, r *http.Request) (string, string, error) {
	key, value := r.PostFormValue("key"), r.PostFormValue("value")
	if err := paas.ValidateConfigKey(key); err != nil {
		return "", "", err
	}
	line := "config:set " + app + " " + key + "=***"
	var out bytes.Buffer
	_, err := h.cfg.Platform.SetConfig(ctx, app, paas.Actor(ctx), map[string]string{key: value}, nil, &out)
	return line, "/config", err
}

// unsetConfig: config:unset APP KEY.
func (h *Handler) unsetConfig(ctx context.Context, app string, r *http.Request) (string, string, error) {
	key := r.PostFormValue("key")
	if err := paas.ValidateConfigKey(key); err != nil {
		return "", "", err
	}
	line := "config:unset " + app + " " + key
	var out bytes.Buffer
	_, err := h.cfg.Platform.SetConfig(ctx, app, paas.Actor(ctx), nil, []string{key}, &out)
	return line, "/config", err
}

// rollback: rollback APP vN, after the confirmation page.
func (h *Handler) rollback(ctx context.Context, app string, r *http.Request) (string, string, error) {
	v, err := parseVersion(r.PostFormValue("version"))
	if err != nil {
		return "", "", err
	}
	line := fmt.Sprintf("rollback %s v%d", app, v)
	var out bytes.Buffer
	_, err = h.cfg.Platform.Rollback(ctx, app, paas.Actor(ctx), v, false, &out)
	return line, "/releases", err
}

// parseVersion reads "12" or "v12".
func parseVersion(s string) (int, error) {
	if len(s) > 0 && s[0] == 'v' {
		s = s[1:]
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || strconv.Itoa(v) != s {
		return 0, paas.Errorf("invalid release %q: use vN", s)
	}
	return v, nil
}

// rollbackConfirm asks before a rollback.
func (h *Handler) rollbackConfirm(w http.ResponseWriter, r *http.Request, s *session) {
	app := r.PathValue("app")
	if err := h.allow(s.u, access.Change, app); err != nil {
		h.failErr(w, r, s, app, err)
		return
	}
	v, err := parseVersion(r.URL.Query().Get("v"))
	if err != nil {
		h.failErr(w, r, s, app, err)
		return
	}
	if _, err := h.cfg.Platform.App(r.Context(), app); err != nil {
		h.failErr(w, r, s, app, err)
		return
	}
	h.render(w, r, s, http.StatusOK, "rollback", pageData{Title: app + " · Roll back", App: app, Tab: "releases", Data: v})
}

// addDomain: domains:add APP HOST.
func (h *Handler) addDomain(ctx context.Context, app string, r *http.Request) (string, string, error) {
	host, err := paas.NormalizeDomain(r.PostFormValue("host"))
	if err != nil {
		return "", "", err
	}
	_, err = h.cfg.Platform.AddDomain(ctx, app, host)
	return "domains:add " + app + " " + host, "/domains", err
}

// removeDomain: domains:remove APP HOST.
func (h *Handler) removeDomain(ctx context.Context, app string, r *http.Request) (string, string, error) {
	host, err := paas.NormalizeDomain(r.PostFormValue("host"))
	if err != nil {
		return "", "", err
	}
	return "domains:remove " + app + " " + host, "/domains", h.cfg.Platform.RemoveDomain(ctx, app, host)
}

// addDrain: drains:add APP URL; the audit log keeps the URL masked.
func (h *Handler) addDrain(ctx context.Context, app string, r *http.Request) (string, string, error) {
	u := r.PostFormValue("url")
	if u == "" || len(u) > 2048 {
		return "", "", paas.Errorf("give the drain's URL: syslog://HOST:PORT, syslog+tls://HOST:PORT or https://...")
	}
	_, err := h.cfg.Platform.AddDrain(ctx, app, u)
	return "drains:add " + app + " " + drains.Mask(u), "/drains", err
}

// removeDrain: drains:remove APP N, N its number in the list.
func (h *Handler) removeDrain(ctx context.Context, app string, r *http.Request) (string, string, error) {
	n, err := strconv.Atoi(r.PostFormValue("number"))
	if err != nil || n < 1 || strconv.Itoa(n) != r.PostFormValue("number") {
		return "", "", paas.Errorf("invalid drain number %q", r.PostFormValue("number"))
	}
	_, err = h.cfg.Platform.RemoveDrain(ctx, app, strconv.Itoa(n))
	return fmt.Sprintf("drains:remove %s %d", app, n), "/drains", err
}
