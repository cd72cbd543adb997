package deploy

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/internal/syncbuf"
	"paas/logs"
	"paas/store"
)

// streamOf renders app's whole log stream.
func streamOf(h *harness, app string) string {
	var b strings.Builder
	for _, l := range h.logs.Tail(app, -1, logs.Filter{}) {
		b.WriteString(l.String() + "\n")
	}
	return b.String()
}

// TestAddonRotation rotates the credential of a postgres attached to two
// apps: each gets the new URL in a new release, then the old credential
// stops working. A rotation whose credential the engine refuses changes
// nothing; one stopped by a failing release leaves both credentials
// working, says so, and is finished by the next rotate.
func TestAddonRotation(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	f := withAddons(h)
	slogOut := &syncbuf.Buffer{}
	h.svc.log = slog.New(slog.NewTextHandler(slogOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	dir := t.TempDir()
	block := filepath.Join(dir, "rotb")
	// An app's release phase fails while the file named by its app
	// exists.
	for _, app := range []string{"rota", "rotb"} {
		if _, err := h.svc.EnsureApp(ctx, app, "tester"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.SetConfig(ctx, app, "tester", map[string]string{"BLOCK": filepath.Join(dir, app)}, nil, io.Discard); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{"Procfile": webProc + "release: test ! -e \"$BLOCK\"\n", "site/index.html": "ok"}
		if err := h.deploy(app, files); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := h.svc.CreateAddon(ctx, "rota", "postgres", "rotdb", "", "alice", io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.AttachAddon(ctx, "rotdb", "rotb", "", "alice", io.Discard); err != nil {
		t.Fatal(err)
	}
	const pw1 = "pw01-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c"
	url := func(user, pw string) string { return "postgres://" + user + ":" + pw + "@rotdb:5432/app" }
	dbURL := func(app string) string {
		cfg, _ := h.svc.Config(ctx, app)
		return cfg["DATABASE_URL"]
	}
	release := func(app string) int {
		a, _ := h.svc.App(ctx, app)
		return a.Release
	}
	relA, relB := release("rota"), release("rotb")

	// The engine refuses the new credential: nothing changes.
	f.failAddCredential = true
	err := h.svc.RotateAddon(ctx, "rotdb", "bob", io.Discard)
	f.failAddCredential = false
	msg, _ := paas.UserMessage(err)
	if !strings.HasPrefix(msg, "rotating rotdb failed: adding the new credential: ") || !strings.HasSuffix(msg, "the old credential still works") || strings.Contains(msg, "pw02") || strings.Contains(msg, "\n") {
		t.Fatalf("refused credential: %v", err)
	}
	if a, _ := h.svc.cfg.Store.Addon("rotdb"); a.Rotation != nil || a.User != "app" || a.Password != pw1 {
		t.Fatalf("record after a refused rotation: %+v", a)
	}
	if dbURL("rota") != url("app", pw1) || release("rota") != relA || release("rotb") != relB || !f.logsIn("rotdb", "app", pw1) {
		t.Fatal("a refused rotation changed an app or the old credential")
	}

	// Rotation: both apps get the new URL in a new release; then the old
	// credential no longer logs in.
	var out strings.Builder
	if err := h.svc.RotateAddon(ctx, "rotdb", "bob", &out); err != nil {
		t.Fatalf("rotate: %v\n%s", err, out.String())
	}
	const pw3 = "pw03-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c"
	for app, rel := range map[string]int{"rota": relA, "rotb": relB} {
		if dbURL(app) != url("app_2", pw3) || release(app) != rel+1 {
			t.Fatalf("%s after rotate: v%d %q", app, release(app), dbURL(app))
		}
		if ps := h.ps(app); ps["web.1"].Release != rel+1 {
			t.Fatalf("%s's web.1 runs v%d after rotate", app, ps["web.1"].Release)
		}
	}
	if f.logsIn("rotdb", "app", pw1) || !f.logsIn("rotdb", "app_2", pw3) {
		t.Fatal("after rotate the old credential works or the new one does not")
	}
	if a, _ := h.svc.cfg.Store.Addon("rotdb"); a.Rotation != nil || a.Retiring != nil || a.User != "app_2" || a.Password != pw3 {
		t.Fatalf("record after rotate: %+v", a)
	}
	if !strings.Contains(out.String(), "Rotated rotdb: new URL on rota (DATABASE_URL), rotb (DATABASE_URL), and the old credential no longer works") {
		t.Fatalf("rotate said:\n%s", out.String())
	}
	relA, relB = release("rota"), release("rotb")

	// rota's release fails before any app has the new URL: the rotation
	// is undone, its credential refused.
	if err := os.WriteFile(filepath.Join(dir, "rota"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const pw4 = "pw04-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c"
	err = h.svc.RotateAddon(ctx, "rotdb", "bob", io.Discard)
	msg, _ = paas.UserMessage(err)
	if !strings.HasPrefix(msg, "rotating rotdb failed: rota: ") || !strings.Contains(msg, "release phase failed") || !strings.HasSuffix(msg, "; the old credential still works") || strings.Contains(msg, "pw0") {
		t.Fatalf("rotation failing at the first app: %v", err)
	}
	if a, _ := h.svc.cfg.Store.Addon("rotdb"); a.Rotation != nil || a.User != "app_2" || a.Password != pw3 {
		t.Fatalf("record after an undone rotation: %+v", a)
	}
	if f.logsIn("rotdb", "app_3", pw4) || !f.logsIn("rotdb", "app_2", pw3) || dbURL("rota") != url("app_2", pw3) || release("rota") != relA {
		t.Fatal("an undone rotation left its credential or changed rota")
	}
	os.Remove(filepath.Join(dir, "rota"))

	// rotb's release fails: rota keeps the new URL, rotb the old one,
	// both credentials work, and the message and addons:info say so.
	if err := os.WriteFile(block, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	relA = release("rota")
	const pw5 = "pw05-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c"
	err = h.svc.RotateAddon(ctx, "rotdb", "bob", io.Discard)
	msg, _ = paas.UserMessage(err)
	if !strings.HasPrefix(msg, "rotating rotdb stopped: rotb: ") || !strings.Contains(msg, "release phase failed") || !strings.HasSuffix(msg, "; rota use the new credential and rotb the old one, both of which work until addons:rotate rotdb finishes the rotation") || strings.Contains(msg, "pw0") {
		t.Fatalf("rotation stopped by a failing release: %v", err)
	}
	if dbURL("rota") != url("app_3", pw5) || dbURL("rotb") != url("app_2", pw3) || release("rotb") != relB {
		t.Fatalf("after a stopped rotation: rota %q, rotb %q v%d", dbURL("rota"), dbURL("rotb"), release("rotb"))
	}
	if !f.logsIn("rotdb", "app_2", pw3) || !f.logsIn("rotdb", "app_3", pw5) {
		t.Fatal("a stopped rotation left a credential not working")
	}
	info, err := h.svc.AddonInfo(ctx, "rotdb")
	if err != nil || info.Rotation != "unfinished (both credentials work): run addons:rotate rotdb to finish it" || info.URL != "postgres://app_2:***@rotdb:5432/app" {
		t.Fatalf("info during a stopped rotation: %+v %v", info, err)
	}

	relA = release("rota")

	// Run again, it finishes: rotb gets the new URL (its failed release
	// took a number), rota no new release.
	os.Remove(block)
	out.Reset()
	if err := h.svc.RotateAddon(ctx, "rotdb", "bob", &out); err != nil {
		t.Fatalf("finishing: %v", err)
	}
	if dbURL("rotb") != url("app_3", pw5) || release("rotb") != relB+2 || release("rota") != relA {
		t.Fatalf("after finishing: rotb %q v%d, rota v%d (was v%d)", dbURL("rotb"), release("rotb"), release("rota"), relA)
	}
	if f.logsIn("rotdb", "app_2", pw3) || !f.logsIn("rotdb", "app_3", pw5) {
		t.Fatal("after finishing the old credential works or the new one does not")
	}
	if !strings.Contains(out.String(), "Finishing the unfinished credential rotation of rotdb") {
		t.Fatalf("finishing said:\n%s", out.String())
	}
	if info, _ := h.svc.AddonInfo(ctx, "rotdb"); info.Rotation != "" {
		t.Fatalf("info after finishing: %q", info.Rotation)
	}

	// Unknown add-on: one line, nothing called.
	calls := f.nCalls()
	for name, want := range map[string]string{"nope": "add-on nope not found", "Bad": `invalid add-on name "Bad"`} {
		if msg, _ := paas.UserMessage(h.svc.RotateAddon(ctx, name, "bob", io.Discard)); !strings.HasPrefix(msg, want) {
			t.Errorf("rotate %s: %q", name, msg)
		}
	}
	if f.nCalls() != calls {
		t.Fatal("a refused rotate reached the engine")
	}
	for _, where := range []string{streamOf(h, "rota"), streamOf(h, "rotb"), slogOut.String()} {
		if strings.Contains(where, "0a1b2c3d4e5f") {
			t.Fatalf("a password was logged:\n%s", where)
		}
	}
	if s := streamOf(h, "rotb"); !strings.Contains(s, "Credential of add-on rotdb rotated by bob") {
		t.Fatalf("rotb's stream:\n%s", s)
	}
}

// TestInterruptedRotationIsSettled: at start, a rotation every app already
// has is finished, a replaced credential is removed, one never accepted
// is abandoned, and any other is reported and left working.
func TestInterruptedRotationIsSettled(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	f := withAddons(h)
	ctx := context.Background()
	for _, app := range []string{"setla", "setlb"} {
		if _, err := h.svc.EnsureApp(ctx, app, "tester"); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"setl-done", "setl-half", "setl-new", "setl-old"}
	for _, name := range names {
		if _, _, err := h.svc.CreateAddon(ctx, "setla", "redis", name, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), "t", io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.svc.AttachAddon(ctx, name, "setlb", strings.ToUpper(strings.ReplaceAll(name, "-", "_")), "t", io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	st := h.svc.cfg.Store
	newCred := func(name string, added bool) store.Credential {
		c := store.Credential{User: "default", Password: "new-" + name + "-0a1b2c3d4e5f", Added: added}
		if added {
			if err := f.AddCredential(ctx, name, c.User, c.Password); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	urlOf := func(name string, c store.Credential) string {
		return "redis://default:" + c.Password + "@" + name + ":6379"
	}
	setVar := func(app, name, url string) {
		a, _ := st.Addon(name)
		if _, err := st.ChangeConfig(app, map[string]string{a.Attachments[app]: url}, nil, "t"); err != nil {
			t.Fatal(err)
		}
	}
	// setl-done: both apps switched before the stop.
	done := newCred("setl-done", true)
	// setl-half: one app switched.
	half := newCred("setl-half", true)
	// setl-new: the credential was never recorded as accepted.
	fresh := newCred("setl-new", false)
	for name, c := range map[string]store.Credential{"setl-done": done, "setl-half": half, "setl-new": fresh} {
		if _, err := st.UpdateAddon(name, func(a *store.Addon) error { a.Rotation = &c; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	setVar("setla", "setl-done", urlOf("setl-done", done))
	setVar("setlb", "setl-done", urlOf("setl-done", done))
	setVar("setla", "setl-half", urlOf("setl-half", half))
	// setl-old: the rotation was recorded finished, the old credential
	// not yet removed.
	old, _ := st.Addon("setl-old")
	retired := newCred("setl-old", true)
	if _, err := st.UpdateAddon("setl-old", func(a *store.Addon) error {
		a.Retiring = &store.Credential{User: a.User, Password: a.Password}
		a.Password = retired.Password
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if err := h.svc.settleRotations(ctx); err != nil {
		t.Fatal(err)
	}
	recs := map[string]store.Addon{}
	for _, name := range names {
		recs[name], _ = st.Addon(name)
	}
	if a := recs["setl-done"]; a.Rotation != nil || a.Retiring != nil || a.Password != done.Password || !f.logsIn("setl-done", "default", done.Password) || f.logsIn("setl-done", "default", "pw01-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c") {
		t.Errorf("a rotation every app had was not finished: %+v", a)
	}
	if a := recs["setl-half"]; a.Rotation == nil || !f.logsIn("setl-half", "default", half.Password) || !f.logsIn("setl-half", "default", a.Password) {
		t.Errorf("a half-done rotation was not left working: %+v", a)
	}
	if a := recs["setl-new"]; a.Rotation != nil || f.logsIn("setl-new", "default", fresh.Password) {
		t.Errorf("a rotation never accepted was not abandoned: %+v", a)
	}
	if a := recs["setl-old"]; a.Retiring != nil || f.logsIn("setl-old", "default", old.Password) {
		t.Errorf("a replaced credential was not removed: %+v", a)
	}
	for _, app := range []string{"setla", "setlb"} {
		if s := streamOf(h, app); !strings.Contains(s, "The credential rotation of add-on setl-half was interrupted: both credentials work until addons:rotate setl-half finishes it") {
			t.Errorf("%s's stream does not report the interrupted rotation:\n%s", app, s)
		}
	}
}
