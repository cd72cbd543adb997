package store

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func sessionHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// TestDashSessionsSurviveReopening: a session is kept under its hash, and
// is there again when the store is opened anew, as after a restart.
func TestDashSessionsSurviveReopening(t *testing.T) {
	s, path := open(t)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	want := DashSession{User: "alice", Fingerprint: "SHA256:a1", Created: at, LastUsed: at, Expires: at.Add(2 * time.Hour)}
	if err := s.PutDashSession(sessionHash("one"), want, 10); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.DashSession(sessionHash("two")); ok || err != nil {
		t.Errorf("an unknown session: %v %v", ok, err)
	}
	s.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok, err := s.DashSession(sessionHash("one"))
	if err != nil || !ok || got != want {
		t.Fatalf("after reopening: %+v %v %v, want %+v", got, ok, err, want)
	}
	later := at.Add(time.Minute)
	if err := s.TouchDashSession(sessionHash("one"), later, later.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.DashSession(sessionHash("one"))
	if !got.LastUsed.Equal(later) || !got.Expires.Equal(later.Add(2*time.Hour)) || !got.Created.Equal(at) {
		t.Errorf("after a use: %+v", got)
	}
	if err := s.DeleteDashSession(sessionHash("one")); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.DashSession(sessionHash("one")); ok {
		t.Error("a signed-out session is still there")
	}
	// A use after the sign-out does not bring it back.
	if err := s.TouchDashSession(sessionHash("one"), later, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.DashSession(sessionHash("one")); ok {
		t.Error("a touch brought a signed-out session back")
	}
}

// TestDashSessionsKeepNoIDs: the store holds the hash of a session's id,
// never the id.
func TestDashSessionsKeepNoIDs(t *testing.T) {
	s, _ := open(t)
	at := time.Now()
	const id = "the-session-id-from-the-cookie"
	if err := s.PutDashSession(sessionHash(id), DashSession{User: "alice", Created: at, Expires: at.Add(time.Hour)}, 10); err != nil {
		t.Fatal(err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if bytes.Contains(k, []byte(id)) || bytes.Contains(v, []byte(id)) {
					t.Errorf("bucket %s holds the session id: %q", name, k)
				}
				return nil
			})
		})
	})
}

func TestDashSessionsArePrunedAndBounded(t *testing.T) {
	s, _ := open(t)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, id := range []string{"a", "b", "c"} {
		d := DashSession{User: "alice", Created: at.Add(time.Duration(i) * time.Second), Expires: at.Add(time.Duration(i+1) * time.Hour)}
		if err := s.PutDashSession(sessionHash(id), d, 10); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.PruneDashSessions(at.Add(time.Hour)); n != 1 || err != nil {
		t.Errorf("pruned %d, %v; want 1", n, err)
	}
	if _, ok, _ := s.DashSession(sessionHash("a")); ok {
		t.Error("an expired session was kept")
	}
	if n, err := s.PruneDashSessions(at.Add(time.Hour)); n != 0 || err != nil {
		t.Errorf("pruned again %d, %v; want 0", n, err)
	}
	// Beyond the limit, the oldest goes.
	if err := s.PutDashSession(sessionHash("d"), DashSession{User: "bob", Created: at.Add(time.Minute), Expires: at.Add(5 * time.Hour)}, 2); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"b": false, "c": true, "d": true} {
		if _, ok, _ := s.DashSession(sessionHash(id)); ok != want {
			t.Errorf("session %s kept: %v, want %v", id, ok, want)
		}
	}
}

// TestRemovingAKeyEndsItsDashSessions: removing a key (or its user)
// removes the sessions signed in with it, in the same change.
func TestRemovingAKeyEndsItsDashSessions(t *testing.T) {
	s, _ := open(t)
	for _, k := range []struct {
		user, fp string
		admin    bool
	}{{"root", "r1", true}, {"alice", "a1", false}, {"alice", "a2", false}, {"bob", "b1", false}} {
		if err := s.AddKey(k.user, k.admin, testKey(k.fp), "test"); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now()
	for _, fp := range []string{"r1", "a1", "a2", "b1"} {
		fpr := testKey(fp).Fingerprint
		if err := s.PutDashSession(sessionHash(fp), DashSession{User: "x", Fingerprint: fpr, Created: at, Expires: at.Add(time.Hour)}, 10); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RemoveKey("alice", testKey("a1").Fingerprint); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveKey("bob", ""); err != nil {
		t.Fatal(err)
	}
	for fp, want := range map[string]bool{"r1": true, "a1": false, "a2": true, "b1": false} {
		if _, ok, _ := s.DashSession(sessionHash(fp)); ok != want {
			t.Errorf("session of key %s kept: %v, want %v", fp, ok, want)
		}
	}
}
