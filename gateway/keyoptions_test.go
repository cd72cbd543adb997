package gateway

import (
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func TestParseKeyOptions(t *testing.T) {
	for _, c := range []struct {
		opts  string // comma-separated as in a file; "" for none
		noPTY bool
		err   string // a part of the error; "" for none
	}{
		{opts: ""},
		{opts: `from="10.0.0.0/8"`},
		{opts: `no-pty`, noPTY: true},
		{opts: `NO-PTY`, noPTY: true},
		{opts: `restrict`, noPTY: true},
		{opts: `restrict,pty`},
		{opts: `no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc`},
		{opts: `restrict,port-forwarding`, noPTY: true},
		{opts: `expiry-time="20300101"`},
		{opts: `expiry-time="203001011200Z"`},
		{opts: `command="echo hi"`, err: "command is not supported"},
		{opts: `environment="A=1"`, err: "environment is not supported"},
		{opts: `permitopen="host:80"`, err: "permitopen is not supported"},
		{opts: `permitlisten="8080"`, err: "permitlisten is not supported"},
		{opts: `principals="alice"`, err: "principals is not supported"},
		{opts: `tunnel="0"`, err: "tunnel is not supported"},
		{opts: `cert-authority`, err: "cert-authority is not supported"},
		{opts: `verify-required`, err: "verify-required is not supported"},
		{opts: `no-touch-required`, err: "no-touch-required is not supported"},
		{opts: `frobnicate`, err: `"frobnicate" is unknown`},
		{opts: `no-pty="yes"`, err: "is unknown"},
		{opts: `from`, err: "from needs a value"},
		{opts: `from=10.0.0.1`, err: "double quotes"},
		{opts: `from="10.0.0.1",from="10.0.0.2"`, err: "given twice"},
		{opts: `from="*.example.com"`, err: "names a host"},
		{opts: `from="gateway"`, err: "names a host"},
		{opts: `from="10.0.0.1, 10.0.0.2"`, err: "names a host"},
		{opts: `from="10.1.2.3/8"`, err: "bits set beyond its mask"},
		{opts: `from="10.0.0.0/33"`, err: "not a CIDR"},
		{opts: `from=""`, err: "empty"},
		{opts: `from="10.0.0.1,,10.0.0.2"`, err: "empty"},
		{opts: `from="!"`, err: "empty"},
		{opts: `from="deadbeef"`, err: "not an address"},
		{opts: `expiry-time="2030"`, err: "want YYYYMMDD"},
		{opts: `expiry-time="20301301"`, err: "not a valid date"},
	} {
		var opts []string
		if c.opts != "" {
			_, _, opts, _, _ = gossh.ParseAuthorizedKey([]byte(c.opts + " " + testKeyLine))
			if opts == nil {
				t.Fatalf("%s: the SSH library parsed no options", c.opts)
			}
		}
		r, err := parseKeyOptions(opts)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, errKeyOption) {
				t.Errorf("%s: error %v, want one containing %q", c.opts, err, c.err)
			}
			if CheckKeyOptions(opts) == nil {
				t.Errorf("%s: CheckKeyOptions accepts it", c.opts)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.opts, err)
			continue
		}
		if r.noPTY != c.noPTY {
			t.Errorf("%s: noPTY %v, want %v", c.opts, r.noPTY, c.noPTY)
		}
	}
}

// testKeyLine is a public key in authorized_keys form.
const testKeyLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGgxBWHW8o3Q7kPrn6ai5Y8bu4p3XCe3z7g0mjzbq3Bz test"

func TestAddrPatternList(t *testing.T) {
	for _, c := range []struct {
		list string
		addr string
		want bool
	}{
		{"10.9.9.9", "10.9.9.9", true},
		{"10.9.9.9", "127.0.0.1", false},
		{"10.0.0.0/8", "10.200.1.2", true},
		{"10.0.0.0/8", "11.0.0.1", false},
		{"192.168.1.*", "192.168.1.77", true},
		{"192.168.1.*", "192.168.10.7", false},
		{"10.0.0.?", "10.0.0.7", true},
		{"10.0.0.?", "10.0.0.17", false},
		{"*", "203.0.113.9", true},
		{"*,!10.0.0.1", "10.0.0.1", false},
		{"!10.0.0.1,*", "10.0.0.1", false},
		{"!10.0.0.1,*", "10.0.0.2", true},
		{"!10.0.0.1", "10.0.0.2", false}, // a negation alone matches nothing
		{"127.0.0.0/8,!127.0.0.2", "127.0.0.2", false},
		{"2001:db8::/32", "2001:db8:1::5", true},
		{"2001:db8::/32", "2001:db9::5", false},
		{"2001:DB8::*", "2001:db8::5", true},
		{"::ffff:10.0.0.1", "10.0.0.1", true},
		{"10.0.0.1", "::ffff:10.0.0.1", true},
		{"::ffff:10.0.0.0/104", "10.3.4.5", true},
		{"10.0.0.0/8", "::1", false},
	} {
		l, err := parseAddrPatternList(c.list)
		if err != nil {
			t.Errorf("%s: %v", c.list, err)
			continue
		}
		if got := l.match(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("%s matching %s = %v, want %v", c.list, c.addr, got, c.want)
		}
	}
	// An address that is not one (a connection not over TCP) matches no list.
	l, _ := parseAddrPatternList("*")
	if l.match(netip.Addr{}) {
		t.Error("the zero address matches *")
	}
}

func TestKeyRulesPermits(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		opts string
		addr string
		ok   bool
	}{
		{`expiry-time="20300601115959Z"`, "10.0.0.1", false},
		{`expiry-time="20300601120001Z"`, "10.0.0.1", true},
		{`expiry-time="20300602Z",expiry-time="20300531Z"`, "10.0.0.1", false}, // the earliest wins
		{`from="10.0.0.0/8",expiry-time="20310101Z"`, "10.0.0.1", true},
		{`from="10.0.0.0/8",expiry-time="20310101Z"`, "192.0.2.1", false},
	} {
		_, _, opts, _, _ := gossh.ParseAuthorizedKey([]byte(c.opts + " " + testKeyLine))
		r, err := parseKeyOptions(opts)
		if err != nil {
			t.Fatalf("%s: %v", c.opts, err)
		}
		if err := r.permits(netip.MustParseAddr(c.addr), now); (err == nil) != c.ok {
			t.Errorf("%s from %s: %v, want allowed %v", c.opts, c.addr, err, c.ok)
		}
	}
}

// FuzzParseKeyOptions feeds authorized_keys option fields to the parser
// and, when it accepts them, the matcher.
func FuzzParseKeyOptions(f *testing.F) {
	for _, s := range []string{`from="10.0.0.0/8,!10.1.*"`, `restrict,pty`, `expiry-time="20300101Z"`, `from="::ffff:1.2.3.4/120"`, `command="x\"y"`} {
		f.Add(s, "10.1.2.3")
	}
	f.Fuzz(func(t *testing.T, field, addr string) {
		_, _, opts, _, err := gossh.ParseAuthorizedKey([]byte(field + " " + testKeyLine))
		if err != nil {
			return
		}
		r, err := parseKeyOptions(opts)
		if err != nil {
			return
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return
		}
		r.permits(a, time.Now())
	})
}

// addKey makes a key pair in the test dir and admits it with options.
func (e *env) addKey(name string, options ...string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	fp := gossh.FingerprintSHA256(genKey(e.t, path))
	e.f.mu.Lock()
	e.f.keys[fp] = name
	e.f.keyOptions[fp] = options
	e.f.mu.Unlock()
	return path
}

// sshAs runs the real ssh client with key, from a loopback address.
func (e *env) sshAs(key, from string, opts []string, command ...string) (status int, stdout, stderr string) {
	e.t.Helper()
	saved := e.key
	e.key = key
	defer func() { e.key = saved }()
	return e.ssh("", append([]string{"-o", "BindAddress=" + from}, opts...), command...)
}

// TestKeyOptionsEnforced logs in with the real ssh client using keys
// whose authorized_keys options restrict them.
func TestKeyOptionsEnforced(t *testing.T) {
	e := startServer(t)
	if st, _, errs := e.ssh("", nil, "apps:create", "web-app"); st != 0 {
		t.Fatalf("apps:create: %s", errs)
	}
	elsewhere := e.addKey("elsewhere", `from="10.9.9.9"`)
	loopback := e.addKey("loopback", `from="127.0.0.0/8,!127.0.0.3"`)
	second := e.addKey("second", `from="127.0.0.2"`)
	expired := e.addKey("expired", `expiry-time="20200101"`)
	noPTY := e.addKey("nopty", `no-pty`)
	restricted := e.addKey("restricted", `restrict`)
	restrictedPTY := e.addKey("restrictedpty", `restrict`, `pty`)
	unknown := e.addKey("unknown", `command="sh"`)

	for _, c := range []struct {
		key, from string
		ok        bool
	}{
		{elsewhere, "127.0.0.1", false},
		{loopback, "127.0.0.1", true},
		{loopback, "127.0.0.3", false},
		{second, "127.0.0.2", true},
		{second, "127.0.0.1", false},
		{expired, "127.0.0.1", false},
		// A stored key with an option paasd cannot apply is refused.
		{unknown, "127.0.0.1", false},
	} {
		st, out, errs := e.sshAs(c.key, c.from, nil, "apps")
		if c.ok && (st != 0 || !slices.Equal(listedApps(out), []string{"web-app"})) {
			t.Errorf("%s from %s: status %d, stdout %q, stderr %q", filepath.Base(c.key), c.from, st, out, errs)
		}
		if !c.ok && (st != 255 || !strings.Contains(errs, "Permission denied") || out != "") {
			t.Errorf("%s from %s: status %d, stdout %q, stderr %q; want permission denied", filepath.Base(c.key), c.from, st, out, errs)
		}
	}

	// no-pty and restrict refuse a terminal: the client, which asked for
	// one, gives up; without one the command runs.
	for _, c := range []struct {
		key string
		tty bool
	}{{e.key, true}, {noPTY, false}, {restricted, false}, {restrictedPTY, true}} {
		name := filepath.Base(c.key)
		st, out, errs := e.sshAs(c.key, "127.0.0.1", []string{"-tt"}, "run", "web-app", "tty")
		refused := strings.Contains(errs, "PTY allocation request failed")
		if c.tty && (st != 0 || refused || !strings.Contains(out, "tty=true")) {
			t.Errorf("%s with -tt: status %d, stdout %q, stderr %q; want a terminal", name, st, out, errs)
		}
		if !c.tty && (st != 255 || !refused || out != "") {
			t.Errorf("%s with -tt: status %d, stdout %q, stderr %q; want the terminal refused", name, st, out, errs)
		}
		if st, out, errs := e.sshAs(c.key, "127.0.0.1", []string{"-T"}, "run", "web-app", "tty"); st != 0 || !strings.Contains(out, "tty=false") {
			t.Errorf("%s without a terminal: status %d, stdout %q, stderr %q", name, st, out, errs)
		}
	}
}

// TestSessionsReauthorize checks that a key removed while its connection
// is open cannot start another command on it.
func TestSessionsReauthorize(t *testing.T) {
	e := startServer(t)
	key := e.addKey("leaving")
	cl := e.client(key, "127.0.0.1")
	sess, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sess.CombinedOutput("apps"); err != nil {
		t.Fatalf("apps: %v %q", err, out)
	}
	e.f.mu.Lock()
	for fp, name := range e.f.keys {
		if name == "leaving" {
			delete(e.f.keys, fp)
		}
	}
	e.f.mu.Unlock()
	sess, err = cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("apps")
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 || string(out) != "paas: key refused: unknown key\n" {
		t.Fatalf("apps after the key was removed: %v %q", err, out)
	}
}

// TestForwardingRefused sends the requests that ask for forwarding and
// checks each is answered no.
func TestForwardingRefused(t *testing.T) {
	e := startServer(t)
	cl := e.client(e.key, "127.0.0.1")
	sess, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	x11 := gossh.Marshal(struct {
		Single   bool
		Protocol string
		Cookie   string
		Screen   uint32
	}{false, "MIT-MAGIC-COOKIE-1", "00112233445566778899aabbccddeeff", 0})
	for _, r := range []struct {
		name    string
		payload []byte
	}{{"auth-agent-req@openssh.com", nil}, {"x11-req", x11}} {
		ok, err := sess.SendRequest(r.name, true, r.payload)
		if err != nil || ok {
			t.Errorf("%s: answered %v, %v; want no", r.name, ok, err)
		}
	}
	if err := sess.Setenv("LD_PRELOAD", "/tmp/evil.so"); err == nil {
		t.Error("env request accepted")
	}
	// The session still works after the refusals.
	if out, err := sess.Output("apps"); err != nil {
		t.Errorf("apps after refused requests: %v %q", err, out)
	}

	fwd := gossh.Marshal(struct {
		Addr string
		Port uint32
	}{"127.0.0.1", 0})
	if ok, _, err := cl.SendRequest("tcpip-forward", true, fwd); err != nil || ok {
		t.Errorf("tcpip-forward: answered %v, %v; want no", ok, err)
	}
	if c, err := cl.Dial("tcp", "127.0.0.1:"+e.port); err == nil {
		c.Close()
		t.Error("direct-tcpip channel opened")
	}
	sftp, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sftp.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp subsystem started")
	}
}
