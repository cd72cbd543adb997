package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// hostileSecret is a config value of the target app: no refused input may
// print it.
const hostileSecret = "s3cret-canary-71fd0c"

// TestHostileInput runs a matrix of hostile inputs against one paasd that
// serves one deployed app, on each runtime: SSH commands with bad app names, config, counts
// and flags; git verbs, repository paths and refs; SSH authentication and
// protocol requests paas does not offer; and HTTP requests aimed at the
// router's parsing. Each must be refused (one line and a non-zero exit,
// for commands), change nothing (apps, config, releases, formation,
// domains, drains, the app's branch, the repos on disk) and leak nothing
// (the app's secret, paasd's own environment, server paths, host files,
// Go stack traces).
func TestHostileInput(t *testing.T) {
	forEachRuntime(t, testHostileInput)
}

func testHostileInput(t *testing.T, rt string) {
	const app = "target"
	s := startServer(t, "PAAS_RUNTIME="+rt)
	dir := s.newRepoOf(app, map[string]string{"Procfile": "web: python3 app.py\n", "requirements.txt": "", "app.py": echoApp})
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	requireOK(t, "config:set", s.ssh("config:set "+app+" SECRET="+hostileSecret))
	requireOK(t, "push", s.push(dir, "paas", "main"))
	s.mustGet(app, "/", "echo from web.1")
	obs := s.observe(t)
	before := obs.state(t, app)

	check := func(t *testing.T, what string, outs ...string) {
		t.Helper()
		for _, out := range outs {
			for _, leak := range []string{hostileSecret, "do-not-leak", s.dataDir, "root:x:0:0", "goroutine ", "panic:"} {
				if strings.Contains(out, leak) {
					t.Errorf("%s: output leaks %q:\n%s", what, leak, out)
				}
			}
		}
		if after := obs.state(t, app); !slices.Equal(after, before) {
			t.Errorf("%s changed the platform:\nbefore:\n%s\nafter:\n%s", what, strings.Join(before, "\n"), strings.Join(after, "\n"))
		}
	}

	t.Run("commands", func(t *testing.T) {
		long := strings.Repeat("a", 31)
		for _, c := range []struct{ cmd, want string }{
			// App names, in every position that takes one.
			{"apps:create ../x", "invalid app name"},
			{"apps:create -rf", "invalid app name"},
			{"apps:create 'a;id'", "invalid app name"},
			{"apps:create 'a$(id)'", "invalid app name"},
			{"apps:create Upper", "invalid app name"},
			{"apps:create ''", "invalid app name"},
			{"apps:create " + long, "invalid app name"},
			{"apps:create 'tärget'", "invalid app name"},
			{"apps:create 'a b'", "invalid app name"},
			{"apps:create $'tar\\nget'", "invalid app name"},
			{"apps:create target", "already exists"},
			{"config ../target", "invalid app name"},
			{"config target/../target", "invalid app name"},
			{"config TARGET", "invalid app name"},
			{"config nosuch", "not found"},
			{"apps:destroy target", "--confirm"},
			{"apps:destroy target --confirm other", "--confirm"},
			// Config keys and pairs: a bad pair fails the whole change.
			{"config:set target GOOD=1 1BAD=x", "invalid config key"},
			{"config:set target A-B=x", "invalid config key"},
			{"config:set target =x", "invalid config key"},
			{"config:set target 'A B=x'", "invalid config key"},
			{"config:set target NOEQUALS", "KEY=VALUE"},
			{"config:set target", "usage"},
			{"config:unset target", "usage"},
			{"config:unset target 'BAD KEY'", "invalid config key"},
			{"config:get target MISSING", "MISSING"},
			{"config:set target 'A=unterminated", ""},
			{"config:set target BUILDPACK_URL=/etc", "BUILDPACK_URL: buildpack \"/etc\" is not allowed"},
			{"config:set target BUILDPACK_URL=file:///etc", "is not allowed"},
			{"config:set target GOOD=1 BUILDPACK_URL=http://127.0.0.1/x.git#-evil", "is not allowed"},
			// Counts, types, limits, versions.
			{"ps:scale target web=-1", "invalid count"},
			{"ps:scale target web=abc", "invalid count"},
			{"ps:scale target web=101", "count"},
			{"ps:scale target web=99999999999999999999", "count"},
			{"ps:scale target '../web=1'", "invalid process type"},
			{"ps:scale target 'web=1;id'", "invalid count"},
			{"ps:set target web memory=-1", "memory"},
			{"ps:set target web cpus=NaN", "cpus"},
			{"ps:set target stop-timeout=abc", "stop-timeout"},
			{"ps:restart target nosuch.1", "nosuch"},
			{"releases:info target v0", "v0"},
			{"releases:info target v-1", ""},
			{"releases:info target vabc", ""},
			{"releases:info target v99999999999999999999", ""},
			{"rollback target v999", "v999"},
			// Routing settings, domains, drains.
			{"proxy:set target max-body=-1", "max-body"},
			{"proxy:set target connect-timeout=abc", "connect-timeout"},
			{"proxy:set target nosuch=1", "nosuch"},
			{"domains:add target 'evil..com'", "invalid"},
			{"domains:add target '*.*.example.com'", "invalid"},
			{"domains:add target 'a b.example.com'", ""},
			{"domains:add target 'exa$(id)mple.com'", "invalid"},
			{"domains:remove target never.example.com", "never.example.com"},
			{"drains:add target file:///etc/passwd", ""},
			{"drains:add target 'https://user:pass@'", ""},
			{"drains:remove target 7", ""},
			// Logs flags.
			{"logs target -n -5", ""},
			{"logs target --since bogus", ""},
			{"logs target --ps ../web", ""},
			{"logs target --source host", ""},
			// Commands and verbs paas does not have.
			{"frobnicate", "unknown command"},
			{"sh -c id", "unknown command"},
			{"bash", "unknown command"},
			{"scp -t /tmp", "unknown command"},
			{"rsync --server -e.Lsfx . /tmp", "unknown command"},
			{"git-upload-archive target", "unknown command"},
			{"git-receive-pack '../../etc'", "invalid app name"},
			{"git-receive-pack '/etc/passwd'", "invalid app name"},
			{"git-upload-pack '/etc'", "app etc not found"},
			{"git-upload-pack '../target.git'", "invalid app name"},
			{"git-upload-pack nosuch", "not found"},
			{"run target", "usage"},
			// Add-on names, engines, variables and backup ids.
			{"addons:create target postgres --name ../x", "invalid add-on name"},
			{"addons:create target postgres --name 'a;id'", "invalid add-on name"},
			{"addons:create target postgres --name " + long, "invalid add-on name"},
			{"addons:create target mysql", "unknown engine"},
			{"addons:create target 'postgres;id'", "unknown engine"},
			{"addons:create target postgres --as 'A B'", "invalid --as"},
			{"addons:create target postgres --as 1X", "invalid --as"},
			{"addons:create ../target postgres", "invalid app name"},
			{"addons:info ../x", "invalid add-on name"},
			{"addons:info nosuch", "not found"},
			{"addons:connect 'a$(id)'", "invalid add-on name"},
			{"addons:backup /etc/passwd", "invalid add-on name"},
			{"addons:backup nosuch --from ../../paas.db", ""},
			{"addons:restore nosuch", "not found"},
			{"addons:rotate ../x", "invalid add-on name"},
			{"addons:backups ../x", "invalid add-on name"},
			{"addons:backups:capture nosuch", "not found"},
			{"addons:attach nosuch target", "not found"},
			{"addons:attach nosuch ../target", "invalid app name"},
			{"addons:detach nosuch target", "not found"},
			{"addons:destroy nosuch --confirm nosuch", "not found"},
			// Renames, builders, builds, one-offs, sources from elsewhere.
			{"apps:rename target ../x", "invalid app name"},
			{"apps:rename target 'a;id'", "invalid app name"},
			{"apps:rename target Upper", "invalid app name"},
			{"apps:rename target " + long, "invalid app name"},
			{"apps:rename target", "usage"},
			{"apps:rename nosuch other", "not found"},
			{"builder:set target herokuish", "unknown builder"},
			{"builder:set target '$(id)'", "unknown builder"},
			{"builds target extra", "usage"},
			{"run target -d", "usage"},
			{"logs target --ps nope", "nope"},
			{"git:sync target file:///etc", "git:sync takes a git URL"},
			{"git:sync target /etc", "git:sync takes a git URL"},
			{"git:sync target ext::sh", "git:sync takes a git URL"},
			{"git:sync target http://127.0.0.1:1/x.git", ""},
			{"git:sync target http://169.254.169.254/x.git", "link-local"},
			{"git:sync target https://example.com/x.git '--upload-pack=id'", ""},
			{"git:from-archive target", ""},
			{"config:set target --file /etc/passwd", ""},
			// Users, keys, access and the audit log.
			{"keys:add ../x", ""},
			{"keys:add 'a;id'", "invalid user name"},
			{"keys:remove nosuch", ""},
			{"keys:remove tester SHA256:../../etc", ""},
			{"access:add target nosuch", ""},
			{"access:add target ../x", ""},
			{"access:remove target nosuch", ""},
			{"apps:transfer target nosuch", ""},
			{"apps:transfer ../target tester", "invalid app name"},
			{"audit -n -5", ""},
			{"audit -n abc", ""},
			{"audit extra", ""},
		} {
			r := s.ssh(c.cmd)
			requireFail(t, c.cmd, r, c.want)
			if !strings.HasPrefix(r.stderr, "paas: ") {
				t.Errorf("%s: stderr %q does not start with paas:", c.cmd, r.stderr)
			}
			check(t, c.cmd, r.stdout, r.stderr)
		}
	})

	t.Run("pushes", func(t *testing.T) {
		head := func() string { return strings.TrimSpace(s.git(dir, "rev-parse", "HEAD").stdout) }
		orig := head()
		// A change to push: refused pushes must not deploy it.
		if err := os.WriteFile(filepath.Join(dir, "NEW"), []byte("new\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s.commitAll(dir, "new")
		defer s.git(dir, "reset", "-q", "--hard", orig)
		url := func(path string) string { return "ssh://paas@127.0.0.1:" + s.port() + "/" + path }
		for _, c := range []struct {
			name string
			args []string
			want string
		}{
			{"a path out of the repos", []string{url("../evil"), "main"}, "invalid app name"},
			{"an absolute path", []string{url("/etc/x"), "main"}, "invalid app name"},
			{"another branch", []string{"paas", "main:feature"}, "push to main"},
			{"a tag", []string{"paas", "main:refs/tags/v1"}, "push to main"},
			{"a ref outside heads", []string{"paas", "main:refs/paas/x"}, "push to main"},
			{"deleting main", []string{"paas", ":main"}, "not allowed"},
			{"an unknown push option", []string{"-o", "evil=1", "paas", "main"}, "unknown push option"},
			{"main and master at once", []string{"paas", "main:main", "main:master"}, "push one of them"},
		} {
			r := s.push(dir, c.args...)
			if r.code == 0 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("push %s: exit %d, want a refusal containing %q:\n%s", c.name, r.code, c.want, r.stderr)
			}
			check(t, "push "+c.name, r.stdout, r.stderr)
		}
		// Buildpacks naming the server's own files or services.
		for _, ref := range []string{"/etc", filepath.Join(s.dataDir, "repos"), "file:///etc", "file://" + filepath.Join(s.dataDir, "repos", app+".git"), "http://127.0.0.1:" + s.port() + "/x.git", "ext::sh -c id"} {
			if err := os.WriteFile(filepath.Join(dir, ".buildpacks"), []byte(ref+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s.commitAll(dir, "buildpack "+ref)
			r := s.push(dir, "paas", "main")
			if r.code == 0 {
				t.Errorf("push with buildpack %s succeeded", ref)
			}
			// The refusal may quote the line as given; nothing else of it.
			check(t, "buildpack "+ref, strings.ReplaceAll(r.stderr, ref, "REF"))
			if strings.Contains(r.stderr, "passwd") || strings.Contains(r.stderr, "HEAD") {
				t.Errorf("buildpack %s: the output shows host files:\n%s", ref, r.stderr)
			}
		}
	})

	t.Run("ssh", func(t *testing.T) {
		key := s.signer(t)
		for _, c := range []struct {
			name string
			auth []gossh.AuthMethod
		}{
			{"a password", []gossh.AuthMethod{gossh.Password("paas")}},
			{"keyboard-interactive", []gossh.AuthMethod{gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return []string{"paas"}, nil })}},
			{"no method", nil},
			{"an unknown key", []gossh.AuthMethod{gossh.PublicKeys(newSigner(t))}},
		} {
			conn, err := gossh.Dial("tcp", s.sshAddr, &gossh.ClientConfig{User: "paas", Auth: c.auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
			if err == nil {
				conn.Close()
				t.Errorf("authenticating with %s succeeded", c.name)
			}
		}

		conn, err := gossh.Dial("tcp", s.sshAddr, &gossh.ClientConfig{User: "paas", Auth: []gossh.AuthMethod{gossh.PublicKeys(key)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Port forwarding, both ways, to paasd's own ports.
		if c, err := conn.Dial("tcp", s.sshAddr); err == nil {
			c.Close()
			t.Error("local port forwarding to paasd's SSH port was opened")
		}
		if c, err := conn.Dial("tcp", s.httpAddr); err == nil {
			c.Close()
			t.Error("local port forwarding to the router was opened")
		}
		if l, err := conn.Listen("tcp", "127.0.0.1:0"); err == nil {
			l.Close()
			t.Error("remote port forwarding was set up")
		}
		if ok, _, _ := conn.SendRequest("no-more-sessions@openssh.com", true, nil); ok {
			t.Error("an unknown global request was accepted")
		}
		// Session requests paas does not serve: each answered false.
		for _, req := range []struct {
			name    string
			payload []byte
		}{
			{"auth-agent-req@openssh.com", nil},
			{"x11-req", gossh.Marshal(struct {
				Single bool
				Proto  string
				Cookie string
				Screen uint32
			}{false, "MIT-MAGIC-COOKIE-1", "00", 0})},
			{"subsystem", gossh.Marshal(struct{ Name string }{"sftp"})},
		} {
			sess, err := conn.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			ok, err := sess.SendRequest(req.name, true, req.payload)
			if ok && err == nil {
				t.Errorf("session request %s was accepted", req.name)
			}
			sess.Close()
		}
		// Environment sent by the client never reaches a command.
		sess, err := conn.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		sess.Setenv("LD_PRELOAD", "/tmp/evil.so")
		sess.Setenv("PAAS_APP", "other")
		sess.Setenv("GIT_DIR", "/etc")
		out, _ := sess.CombinedOutput("run target -- sh -c 'echo preload=$LD_PRELOAD gitdir=$GIT_DIR app=$PAAS_APP'")
		if got := string(out); !strings.Contains(got, "preload= gitdir= app=target") {
			t.Errorf("client environment reached a one-off: %q", got)
		}
		check(t, "ssh requests", string(out))
		// An oversized command line is refused in one line.
		sess, err = conn.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err = sess.CombinedOutput("config:set target A=" + strings.Repeat("x", 1<<20))
		if err == nil {
			t.Errorf("a 1 MiB command line was accepted")
		}
		check(t, "an oversized command", string(out))
	})

	t.Run("http", func(t *testing.T) {
		for _, c := range []struct {
			name, req string
			status    string // the first response's status code
			closes    bool   // the connection must be closed after it
		}{
			{"an unknown host", "GET / HTTP/1.1\r\nHost: nosuch.localhost\r\n\r\n", "404", false},
			{"no host", "GET / HTTP/1.1\r\n\r\n", "400", true},
			{"a host with user info", "GET / HTTP/1.1\r\nHost: x@target.localhost\r\n\r\n", "400", true},
			{"two hosts", "GET / HTTP/1.1\r\nHost: target.localhost\r\nHost: nosuch.localhost\r\n\r\n", "400", true},
			{"CL and TE", "POST / HTTP/1.1\r\nHost: target.localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: target.localhost\r\n\r\n", "", true},
			{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nHost: target.localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: target.localhost\r\n\r\n", "", true},
			{"an obfuscated TE", "POST / HTTP/1.1\r\nHost: target.localhost\r\nTransfer-Encoding: xchunked\r\nContent-Length: 3\r\n\r\nabc", "", true},
			{"a bad chunk size", "POST / HTTP/1.1\r\nHost: target.localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400", true},
			{"a NUL in a header", "GET / HTTP/1.1\r\nHost: target.localhost\r\nX: a\x00b\r\n\r\n", "400", true},
			{"a space before the colon", "GET / HTTP/1.1\r\nHost : target.localhost\r\n\r\n", "400", true},
		} {
			status, closed := rawHTTP(t, s.httpAddr, c.req)
			if c.status != "" && status != c.status {
				t.Errorf("%s: status %q, want %s", c.name, status, c.status)
			}
			if c.status == "" && (status == "" || status[0] == '2') {
				t.Errorf("%s: status %q, want a refusal", c.name, status)
			}
			if c.closes && !closed {
				t.Errorf("%s: the connection stayed open after the response", c.name)
			}
		}
		// The instance saw no smuggled request.
		r := s.ssh("logs " + app + " --source paas -n 1000")
		if strings.Contains(r.stdout, "/smuggled") {
			t.Errorf("a smuggled request reached the app:\n%s", r.stdout)
		}
		check(t, "http")
	})
}

// observer reads the platform's state for a test through one
// connection of Go's SSH client, a session per command, so that a look
// costs no handshake. The commands under test still go through the real
// OpenSSH client.
type observer struct {
	s    *server
	conn *gossh.Client
}

// observe connects an observer, closed when the test ends.
func (s *server) observe(t *testing.T) *observer {
	t.Helper()
	conn, err := gossh.Dial("tcp", s.sshAddr, &gossh.ClientConfig{User: "paas", Auth: []gossh.AuthMethod{gossh.PublicKeys(s.signer(t))}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("observer: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &observer{s: s, conn: conn}
}

// run runs cmd in a session of its own and returns its output and exit
// status.
func (o *observer) run(t *testing.T, cmd string) (string, int) {
	t.Helper()
	sess, err := o.conn.NewSession()
	if err != nil {
		t.Fatalf("observer: a session for %s: %v", cmd, err)
	}
	defer sess.Close()
	var out bytes.Buffer
	sess.Stdout = &out
	code := 0
	if err := sess.Run(cmd); err != nil {
		var exit *gossh.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("observer: %s: %v", cmd, err)
		}
		code = exit.ExitStatus()
	}
	return out.String(), code
}

// state is what hostile input must not change, one line per fact.
func (o *observer) state(t *testing.T, app string) []string {
	t.Helper()
	s := o.s
	var lines []string
	for _, cmd := range []string{"apps", "config " + app, "releases " + app, "domains " + app, "drains " + app, "proxy " + app, "apps:info " + app} {
		out, code := o.run(t, cmd)
		if cmd == "releases "+app {
			// Only the release list, not the ages it prints.
			var vs []string
			for _, l := range strings.Split(out, "\n") {
				if f := strings.Fields(l); len(f) > 1 {
					vs = append(vs, f[0]+" "+f[1])
				}
			}
			out = strings.Join(vs, ",")
		}
		lines = append(lines, fmt.Sprintf("%s: %d %q", cmd, code, out))
	}
	refs := s.run(s.dataDir, "", "git", "--git-dir", filepath.Join(s.dataDir, "repos", app+".git"), "for-each-ref", "--format=%(refname) %(objectname)")
	lines = append(lines, "refs: "+strings.TrimSpace(refs.stdout))
	entries, _ := os.ReadDir(filepath.Join(s.dataDir, "repos"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	lines = append(lines, "repos: "+strings.Join(names, " "))
	return lines
}

// signer loads the server's admin key for Go's SSH client.
func (s *server) signer(t *testing.T) gossh.Signer {
	t.Helper()
	return loadSigner(t, s.keyFile)
}

// newSigner makes a key paasd does not know.
func newSigner(t *testing.T) gossh.Signer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return loadSigner(t, path)
}

// loadSigner reads the private key file path for Go's SSH client.
func loadSigner(t *testing.T, path string) gossh.Signer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rawHTTP writes req on a fresh connection to addr and returns the first
// response's status code and whether the router closed the connection
// after it (rather than waiting for another request).
func rawHTTP(t *testing.T, addr, req string) (status string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", true
	}
	if f := strings.Fields(line); len(f) > 1 {
		status = f[1]
	}
	// Read the rest of what the router sends: a closed connection ends
	// with EOF well before the deadline; an open one times out.
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, err := br.ReadByte(); err != nil {
			ne, ok := err.(net.Error)
			return status, !(ok && ne.Timeout())
		}
	}
}
