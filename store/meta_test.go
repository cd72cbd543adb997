package store

import "testing"

func TestRuntimeRecord(t *testing.T) {
	s, path := open(t)
	if rt, err := s.Runtime(); err != nil || rt != "" {
		t.Fatalf("new store records runtime %q, %v; want none", rt, err)
	}
	if err := s.SetRuntime("docker"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if rt, err := s2.Runtime(); err != nil || rt != "docker" {
		t.Fatalf("reopened store records %q, %v; want docker", rt, err)
	}
	if err := s2.SetRuntime("exec"); err != nil {
		t.Fatal(err)
	}
	if rt, _ := s2.Runtime(); rt != "exec" {
		t.Fatalf("after switching: %q", rt)
	}
}

func TestExecIDs(t *testing.T) {
	s, _ := open(t)
	for _, app := range []string{"one", "two"} {
		if _, err := s.CreateApp(app, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"one": 0, "two": 1}
	for _, app := range []string{"one", "two", "one", "two"} {
		id, err := s.ExecID(app)
		if err != nil || id != want[app] {
			t.Fatalf("ExecID(%s) = %d, %v; want %d", app, id, err, want[app])
		}
	}
	// A destroyed app's number is not given to the next app of its name:
	// a process the old one left could otherwise act as the new one.
	if err := s.DeleteApp("one"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateApp("one", "bob"); err != nil {
		t.Fatal(err)
	}
	if id, err := s.ExecID("one"); err != nil || id != 2 {
		t.Fatalf("ExecID of a new app with a destroyed app's name = %d, %v; want 2", id, err)
	}
	if id, _ := s.ExecID("two"); id != 1 {
		t.Fatalf("ExecID(two) changed to %d", id)
	}
}
