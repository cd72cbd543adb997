package access

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"paas"
)

// TestDecide walks every role × relation × action and checks the answer.
func TestDecide(t *testing.T) {
	const (
		allow  = "allow"
		hide   = "hide"
		forbid = "forbid"
	)
	actions := []Action{Read, Deploy, Change, Destroy, Share, Create, Admin}
	relations := []Relation{None, Collaborator, Owner}
	// want[admin][relation][action]
	want := map[bool]map[Relation]map[Action]string{
		true: {
			None:         {Read: allow, Deploy: allow, Change: allow, Destroy: allow, Share: allow, Create: allow, Admin: allow},
			Collaborator: {Read: allow, Deploy: allow, Change: allow, Destroy: allow, Share: allow, Create: allow, Admin: allow},
			Owner:        {Read: allow, Deploy: allow, Change: allow, Destroy: allow, Share: allow, Create: allow, Admin: allow},
		},
		false: {
			None:         {Read: hide, Deploy: hide, Change: hide, Destroy: hide, Share: hide, Create: allow, Admin: forbid},
			Collaborator: {Read: allow, Deploy: allow, Change: allow, Destroy: forbid, Share: forbid, Create: allow, Admin: forbid},
			Owner:        {Read: allow, Deploy: allow, Change: allow, Destroy: allow, Share: allow, Create: allow, Admin: forbid},
		},
	}
	for _, admin := range []bool{true, false} {
		for _, rel := range relations {
			for _, a := range actions {
				name := fmt.Sprintf("admin=%v/%v/%v", admin, rel, a)
				t.Run(name, func(t *testing.T) {
					err := Decide(admin, rel, a, "myapp")
					var got string
					var pe *paas.Error
					switch {
					case err == nil:
						got = allow
					case errors.Is(err, ErrHidden):
						got = hide
					case errors.As(err, &pe):
						got = forbid
					default:
						t.Fatalf("Decide = %v (%T), neither nil, ErrHidden nor *paas.Error", err, err)
					}
					if got != want[admin][rel][a] {
						t.Fatalf("Decide = %s (%v), want %s", got, err, want[admin][rel][a])
					}
				})
			}
		}
	}
}

// TestDecideMessages checks that refusals say who may, in one line that
// names the app.
func TestDecideMessages(t *testing.T) {
	for _, c := range []struct {
		rel  Relation
		a    Action
		want string
	}{
		{Collaborator, Destroy, "permission denied: only the owner of web-1 may destroy it"},
		{Collaborator, Share, "permission denied: only the owner of web-1 may change who has access to it"},
		{Owner, Admin, "permission denied: only an admin may do this"},
		{None, Admin, "permission denied: only an admin may do this"},
	} {
		err := Decide(false, c.rel, c.a, "web-1")
		msg, ok := paas.UserMessage(err)
		if !ok || msg != c.want {
			t.Errorf("Decide(member, %v, %v) = %q, want %q", c.rel, c.a, msg, c.want)
		}
	}
}

// TestDecideUnknown refuses what the rule does not know.
func TestDecideUnknown(t *testing.T) {
	if err := Decide(false, Owner, Action(99), "a"); !errors.Is(err, ErrHidden) {
		t.Errorf("unknown action: %v, want ErrHidden", err)
	}
	if err := Decide(false, Relation(7), Read, "a"); !errors.Is(err, ErrHidden) {
		t.Errorf("unknown relation: %v, want ErrHidden", err)
	}
}

// Visible keeps, sorted, the apps Decide lets the user read: all of them
// for an admin, those owned or shared for anyone else.
func TestVisible(t *testing.T) {
	rels := map[string]Relation{"c-app": Collaborator, "a-app": Owner, "b-app": None}
	for _, tc := range []struct {
		admin bool
		want  string
	}{
		{false, "a-app c-app"},
		{true, "a-app b-app c-app"},
	} {
		got, err := Visible(tc.admin, rels)
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("Visible(admin %v) = %v, %v; want %s", tc.admin, got, err, tc.want)
		}
	}
}

// Check looks the relation up only when Decide needs it, and passes a
// failed lookup on.
func TestCheck(t *testing.T) {
	looked := 0
	owner := func() (Relation, error) { looked++; return Owner, nil }
	if err := Check(true, owner, Destroy, "shop"); err != nil || looked != 0 {
		t.Errorf("admin: %v, looked up %d times", err, looked)
	}
	if err := Check(false, owner, Destroy, "shop"); err != nil || looked != 1 {
		t.Errorf("owner: %v, looked up %d times", err, looked)
	}
	if err := Check(false, func() (Relation, error) { return None, nil }, Read, "shop"); !errors.Is(err, ErrHidden) {
		t.Errorf("stranger: %v, want ErrHidden", err)
	}
	failed := errors.New("store unreadable")
	if err := Check(false, func() (Relation, error) { return None, failed }, Read, "shop"); !errors.Is(err, failed) {
		t.Errorf("failed lookup: %v", err)
	}
}
