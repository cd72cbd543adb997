package e2e

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"paas/internal/tlstest"
	"paas/store"
)

// TestCorruptState damages, while paasd is stopped, one app's record in
// the store, one release's build (its slug, or its image), one stored
// certificate and one segment of an app's log history. paasd starts
// again, serves every other app, reports each damaged thing in apps,
// ps, certs, logs and its own log with what to do, refuses commands on
// a damaged app with that one line, and each is mended the way the line
// says, without losing anything else.
func TestCorruptState(t *testing.T) {
	forEachRuntime(t, testCorruptState)
}

// corruptApps are the test's apps: one healthy, one per damage.
var corruptApps = []string{"corrupt-ok", "corrupt-rec", "corrupt-art", "corrupt-log"}

// corruptHosts are the custom hosts that get a certificate of their own.
var corruptHosts = map[string]string{"corrupt-ok": "www.corrupt-ok.test", "corrupt-log": "www.corrupt-log.test"}

// corruptDrains are the log drains of corrupt-ok; the first is damaged.
// Nothing listens at them: they only need to be stored.
var corruptDrains = []string{"syslog://127.0.0.1:9", "syslog://127.0.0.1:7"}

// corruptRequests is how many requests each app with a history gets:
// enough router lines for several segments of the small retention.
const corruptRequests = 600

func testCorruptState(t *testing.T, rt string) {
	env := []string{"PAAS_RUNTIME=" + rt, "PAAS_LOG_RETENTION=256k"}
	s := startServer(t, env...)
	dirs := map[string]string{}
	for _, app := range corruptApps {
		dirs[app] = s.newRepo("graceful", app)
		requireOK(t, "push "+app, s.push(dirs[app], "paas", "main"))
	}
	certs := map[string][]byte{}
	for app, host := range corruptHosts {
		requireOK(t, "domains:add", s.ssh("domains:add "+app+" "+host))
		certPEM, keyPEM, _ := tlstest.SelfSigned(t, "e2e self-signed", []string{host}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
		certs[app] = append(certPEM, keyPEM...)
		requireOK(t, "certs:add "+app, s.paas(dirs[app], string(certs[app]), "certs:add"))
	}
	// Two log drains, one of which is damaged.
	for _, u := range corruptDrains {
		requireOK(t, "drains:add", s.ssh("drains:add corrupt-ok "+u))
	}
	for i := range corruptRequests {
		for _, app := range []string{"corrupt-ok", "corrupt-log"} {
			if code, _, _ := s.get(app, fmt.Sprintf("/?n=%d", i)); code != 200 {
				t.Fatalf("request %d to %s: %d", i, app, code)
			}
		}
	}
	s.stop()

	// The damage, while paasd is stopped.
	word := damageArtifact(t, s, rt, "corrupt-art")
	certID := damageStore(t, s.dataDir, "corrupt-rec", "corrupt-log", "corrupt-ok")
	segment := damageSegment(t, filepath.Join(s.dataDir, "logs", "corrupt-log"))

	start := time.Now()
	s2 := s.successor(env...)
	for _, app := range []string{"corrupt-ok", "corrupt-log"} {
		waitFor(t, func() bool { code, body, _ := s2.get(app, "/"); return code == 200 && strings.Contains(body, " v1") })
	}
	t.Logf("%s: every healthy app answers %v after paasd started with one app damaged of each kind", rt, time.Since(start).Round(time.Millisecond))
	apps := s2.ssh("apps")
	requireOK(t, "apps", apps)
	for _, app := range corruptApps {
		if !strings.Contains(apps.stdout, app) {
			t.Fatalf("apps does not list %s:\n%s", app, apps.stdout)
		}
	}
	paasdLog := s2.out.String()

	t.Run("record", func(t *testing.T) {
		note := "app corrupt-rec is damaged: its record in paasd's store cannot be read; restore paas.db from a backup, or destroy the app (apps:destroy corrupt-rec) and push it again"
		if !strings.Contains(apps.stderr, "warning: "+note+"\n") {
			t.Errorf("apps does not report the damaged record:\n%s", apps.stderr)
		}
		requireDamageLogged(t, paasdLog, "corrupt-rec", note)
		requireFail(t, "ps", s2.ssh("ps corrupt-rec"), note)
		requireFail(t, "config:set", s2.ssh("config:set corrupt-rec A=1"), note)
		requireFail(t, "ps:restart", s2.ssh("ps:restart corrupt-rec"), note)
		// Mended as the line says.
		requireOK(t, "apps:destroy", s2.ssh("apps:destroy corrupt-rec --confirm corrupt-rec"))
		requireOK(t, "push again", s2.push(dirs["corrupt-rec"], "paas", "main"))
		s2.mustGet("corrupt-rec", "/", " v1")
	})

	t.Run("artifact", func(t *testing.T) {
		note := "app corrupt-art is damaged: the " + word + " of release v1 is missing; redeploy with git push, or roll back to a release whose build remains (rollback vN)"
		if !strings.Contains(apps.stderr, "warning: "+note+"\n") {
			t.Errorf("apps does not report the missing %s:\n%s", word, apps.stderr)
		}
		requireDamageLogged(t, paasdLog, "corrupt-art", note)
		if ps := s2.ssh("ps corrupt-art"); !strings.Contains(ps.stderr, "warning: "+note+"\n") {
			t.Errorf("ps does not report the missing %s: exit %d\n%s%s", word, ps.code, ps.stdout, ps.stderr)
		}
		requireFail(t, "ps:restart", s2.ssh("ps:restart corrupt-art"), note)
		requireFail(t, "ps:scale", s2.ssh("ps:scale corrupt-art web=2"), note)
		// Mended as the line says.
		if err := os.WriteFile(filepath.Join(dirs["corrupt-art"], "mended.txt"), []byte("again\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s2.commitAll(dirs["corrupt-art"], "build again")
		requireOK(t, "push", s2.push(dirs["corrupt-art"], "paas", "main"))
		s2.mustGet("corrupt-art", "/", " v2")
		if r := s2.ssh("apps"); strings.Contains(r.stderr, "corrupt-art") {
			t.Errorf("still reported after a new push:\n%s", r.stderr)
		}
	})

	t.Run("log", func(t *testing.T) {
		line := "log history damaged on disk: the rest of segment " + segment + " cannot be read and is skipped"
		r := s2.ssh("logs corrupt-log --since 24h")
		requireOK(t, "logs", r)
		if !strings.Contains(r.stdout, "paas[logs]: "+line+"\n") {
			t.Errorf("logs does not say where the history is damaged:\n%s", r.stdout)
		}
		if log := s2.out.String(); !strings.Contains(log, `"msg":"log segment damaged"`) || !strings.Contains(log, segment) {
			t.Errorf("paasd's log does not name the damaged segment")
		}
		// The damage costs one run of lines in the middle: every line
		// before it and after the damaged segment is read.
		got := requestMarks(r.stdout)
		var missing []int
		for i := range corruptRequests {
			if !got[i] {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 || missing[len(missing)-1]-missing[0] != len(missing)-1 || !got[0] || !got[corruptRequests-1] {
			t.Errorf("lines missing from the damaged history: %v", missing)
		}
		// The other app's history is whole.
		other := s2.ssh("logs corrupt-ok --since 24h")
		requireOK(t, "logs of the other app", other)
		if got := requestMarks(other.stdout); len(got) != corruptRequests {
			t.Errorf("the other app's history has %d of its %d request lines", len(got), corruptRequests)
		}
	})

	t.Run("drain", func(t *testing.T) {
		note := "1 log drain(s) of app corrupt-ok are damaged in paasd's store and are not started: add each again (drains:add corrupt-ok URL), which clears the damaged records"
		requireDamageLogged(t, paasdLog, "corrupt-ok", note)
		r := s2.ssh("drains corrupt-ok")
		requireOK(t, "drains", r)
		if !strings.Contains(r.stdout, corruptDrains[1]) || strings.Contains(r.stdout, corruptDrains[0]) {
			t.Errorf("drains lists other than the drain kept:\n%s", r.stdout)
		}
		requireOK(t, "drains:add again", s2.ssh("drains:add corrupt-ok "+corruptDrains[0]))
		r = s2.ssh("drains corrupt-ok")
		if !strings.Contains(r.stdout, corruptDrains[0]) || !strings.Contains(r.stdout, corruptDrains[1]) {
			t.Errorf("drains after adding the damaged one again:\n%s", r.stdout)
		}
	})

	t.Run("local CA", func(t *testing.T) {
		if !strings.Contains(paasdLog, "the local CA's root was damaged in paasd's store and is replaced by a new one") {
			t.Errorf("paasd's log does not say the local CA was replaced")
		}
		rootPEM, err := os.ReadFile(filepath.Join(s2.dataDir, "local-ca.pem"))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(rootPEM) {
			t.Fatal("local-ca.pem holds no certificate")
		}
		if _, body := httpsGet(t, s2.httpsAddr(), "corrupt-ok.localhost", roots); !strings.Contains(body, " v1") {
			t.Errorf("corrupt-ok over HTTPS with the new local CA: %q", body)
		}
	})

	t.Run("cert", func(t *testing.T) {
		note := "certificate " + certID + " of app corrupt-log is damaged in paasd's store and is not served: remove it (certs:remove corrupt-log " + certID + ") and add it again (certs:add)"
		requireDamageLogged(t, paasdLog, "corrupt-log", note)
		r := s2.ssh("certs corrupt-log")
		requireOK(t, "certs", r)
		if !regexp.MustCompile(`(?m)^`+certID+`\s+damaged\s+-`).MatchString(r.stdout) || !strings.Contains(r.stdout, "certs:remove corrupt-log ID") {
			t.Errorf("certs does not list the damaged certificate:\n%s", r.stdout)
		}
		if ok := s2.ssh("certs corrupt-ok"); !regexp.MustCompile(`(?m)^www\.corrupt-ok\.test\s+user\s`).MatchString(ok.stdout) {
			t.Errorf("the other app's certificate is not served:\n%s%s", ok.stdout, ok.stderr)
		}
		requireOK(t, "certs:remove", s2.ssh("certs:remove corrupt-log "+certID))
		requireOK(t, "certs:add", s2.paas(dirs["corrupt-log"], string(certs["corrupt-log"]), "certs:add"))
		if r := s2.ssh("certs corrupt-log"); !regexp.MustCompile(`(?m)^www\.corrupt-log\.test\s+user\s`).MatchString(r.stdout) || strings.Contains(r.stdout, "damaged") {
			t.Errorf("after removing and adding the certificate again:\n%s", r.stdout)
		}
	})
}

// requireDamageLogged checks paasd's JSON log has an error about app
// with note.
func requireDamageLogged(t *testing.T, log, app, note string) {
	t.Helper()
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, `"level":"ERROR"`) && strings.Contains(l, `"app":"`+app+`"`) && strings.Contains(l, `"note":"`+note+`"`) {
			return
		}
	}
	t.Errorf("paasd's log has no error about %s saying %q", app, note)
}

var requestMark = regexp.MustCompile(`method=GET path="/\?n=(\d+)"`)

// requestMarks are the request numbers (path "/?n=N") the router lines of a
// log show.
func requestMarks(log string) map[int]bool {
	got := map[int]bool{}
	for _, m := range requestMark.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.Atoi(m[1])
		got[n] = true
	}
	return got
}

// damageArtifact removes the build of app's current release: its slug
// directory (exec) or its image and containers (docker). It returns the
// word for that build.
func damageArtifact(t *testing.T, s *server, rt, app string) string {
	t.Helper()
	st, err := store.Open(filepath.Join(s.dataDir, "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.App(app)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := st.Release(app, a.Release)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rt == "exec" {
		if err := os.RemoveAll(rel.Slug); err != nil {
			t.Fatal(err)
		}
		return "slug"
	}
	ids := strings.Fields(s.run("", "", "docker", "ps", "-aq", "--filter", "label=paas.app="+app).stdout)
	if len(ids) == 0 {
		t.Fatalf("no container of %s", app)
	}
	requireOK(t, "docker rm", s.run("", "", "docker", append([]string{"rm", "-f"}, ids...)...))
	requireOK(t, "docker image rm", s.run("", "", "docker", "image", "rm", rel.Slug))
	return "image"
}

// damageStore garbles the record of app recApp, the stored certificate of
// certApp, the first log drain of drainApp and the local CA's root, and
// returns that certificate's id.
func damageStore(t *testing.T, dataDir, recApp, certApp, drainApp string) string {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dataDir, "paas.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id string
	err = db.Update(func(tx *bolt.Tx) error {
		apps := tx.Bucket([]byte("apps"))
		if apps.Get([]byte(recApp)) == nil {
			return fmt.Errorf("no record of %s", recApp)
		}
		if err := apps.Put([]byte(recApp), []byte("{\"Name\":\"\x00\xfe garbled")); err != nil {
			return err
		}
		prefix := []byte("user/" + certApp + "/")
		c := tx.Bucket([]byte("certs")).Cursor()
		k, v := c.Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return fmt.Errorf("no certificate of %s", certApp)
		}
		id = string(k[len(prefix):])
		// The modification time stays; the certificate does not.
		garbled := append(slices.Clone(v[:8]), []byte("{\"App\":\"\xff\x00")...)
		if err := tx.Bucket([]byte("certs")).Put(slices.Clone(k), garbled); err != nil {
			return err
		}
		// The first log drain of the healthy app.
		drains := tx.Bucket([]byte("drains")).Bucket([]byte(drainApp))
		if drains == nil {
			return fmt.Errorf("no drains of %s", drainApp)
		}
		dk, _ := drains.Cursor().First()
		if err := drains.Put(slices.Clone(dk), []byte("{\"url\":\"\x00\xfe garbled")); err != nil {
			return err
		}
		// The local CA's root certificate.
		root := tx.Bucket([]byte("certs")).Get([]byte("local/root.crt"))
		if root == nil {
			return errors.New("no local CA root in the store")
		}
		return tx.Bucket([]byte("certs")).Put([]byte("local/root.crt"), append(slices.Clone(root[:8]), "\x00garbled"...))
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// damageSegment garbles bytes in the middle of the second segment of the
// history in dir and returns its file name.
func damageSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 3 {
		t.Fatalf("%d log segments in %s: want at least 3", len(segs), dir)
	}
	data, err := os.ReadFile(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	copy(data[len(data)/2:], "\xde\xad\xbe\xef\xde\xad\xbe\xef")
	if err := os.WriteFile(segs[1], data, 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(segs[1])
}
