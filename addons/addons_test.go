package addons

import (
	"net/url"
	"regexp"
	"strconv"
	"testing"
)

func TestDefaultVar(t *testing.T) {
	for engine, want := range map[string]string{Postgres: "DATABASE_URL", Redis: "REDIS_URL", "mysql": ""} {
		if got := DefaultVar(engine); got != want {
			t.Errorf("DefaultVar(%q) = %q, want %q", engine, got, want)
		}
	}
	for _, e := range Engines() {
		if DefaultVar(e) == "" || URL(e, "u", "p", "n", 1) == "" {
			t.Errorf("engine %s has no variable or URL", e)
		}
		if _, err := lookup(e); err != nil {
			t.Errorf("lookup(%s): %v", e, err)
		}
	}
	if _, err := lookup("mysql"); err == nil {
		t.Error("lookup of an unknown engine succeeded")
	}
}

func TestURL(t *testing.T) {
	pw := NewPassword()
	for _, c := range []struct{ engine, want, user, port, path string }{
		{Postgres, "postgres://app:" + pw + "@db-1:5432/app", "app", "5432", "/app"},
		{Postgres, "postgres://app_2:" + pw + "@db-1:5432/app", "app_2", "5432", "/app"},
		{Redis, "redis://default:" + pw + "@db-1:6379", "default", "6379", ""},
	} {
		port, _ := strconv.Atoi(c.port)
		got := URL(c.engine, c.user, pw, "db-1", port)
		if got != c.want {
			t.Errorf("URL(%s) = %q, want %q", c.engine, got, c.want)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("URL(%s) does not parse: %v", c.engine, err)
		}
		if p, _ := u.User.Password(); u.Scheme != c.engine || u.User.Username() != c.user || p != pw ||
			u.Hostname() != "db-1" || u.Port() != c.port || u.Path != c.path {
			t.Errorf("URL(%s) parses as %#v", c.engine, u)
		}
	}
	if got := URL(Redis, "default", pw, "127.0.0.1", 40123); got != "redis://default:"+pw+"@127.0.0.1:40123" {
		t.Errorf("URL on loopback: %q", got)
	}
	if got := URL("mysql", "u", pw, "db", 1); got != "" {
		t.Errorf("URL of an unknown engine: %q", got)
	}
}

func TestNewPassword(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`)
	seen := map[string]bool{}
	for range 100 {
		p := NewPassword()
		if !re.MatchString(p) {
			t.Fatalf("NewPassword() = %q", p)
		}
		if !validPassword(p) {
			t.Fatalf("validPassword(%q) = false", p)
		}
		if seen[p] {
			t.Fatalf("NewPassword repeated %q", p)
		}
		seen[p] = true
	}
	for _, p := range []string{"", "short", "abcdefghijklmnop'quote", "abcdefghijklmnopq rstuv", "abcdefghijklmnop\nrequirepass x"} {
		if validPassword(p) {
			t.Errorf("validPassword(%q) = true", p)
		}
	}
}

func TestNextUser(t *testing.T) {
	for _, c := range []struct{ engine, user, want string }{
		{Postgres, "app", "app_2"},
		{Postgres, "app_2", "app_3"},
		{Postgres, "app_9", "app_10"},
		{Postgres, "", "app_2"},
		{Redis, "default", "default"},
	} {
		if got := NextUser(c.engine, c.user); got != c.want {
			t.Errorf("NextUser(%s, %q) = %q, want %q", c.engine, c.user, got, c.want)
		}
		if !validUser(c.engine, c.want) {
			t.Errorf("validUser(%s, %q) = false", c.engine, c.want)
		}
	}
	for _, u := range []string{"postgres", "app_x", "app;", "App"} {
		if validUser(Postgres, u) {
			t.Errorf("validUser(postgres, %q) = true", u)
		}
	}
}
