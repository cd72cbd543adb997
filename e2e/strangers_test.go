package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStrangersOnHTTP tries, through the paasd binary, what anyone on the
// network can send to its listeners: a static site served from its slug's
// root does not serve the paasd binary the static buildpack installed
// there nor the slug's dotfiles; a request whose framing is ambiguous is
// refused on HTTP and on HTTPS, its connection closed, and the request
// hidden in its body never reaches the app.
func TestStrangersOnHTTP(t *testing.T) {
	forEachRuntime(t, testStrangersOnHTTP)
}

func testStrangersOnHTTP(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt)
	const app = "rootsite"
	dir := s.newRepoOf(app, map[string]string{
		"index.html":               "<h1>a site served from the slug's root</h1>",
		".well-known/security.txt": "Contact: mailto:security@example.com\n",
		".env":                     "SECRET=do-not-serve\n",
	})
	requireOK(t, "push", s.push(dir, "paas", "main"))
	s.mustGet(app, "/", "served from the slug's root")
	s.mustGet(app, "/.well-known/security.txt", "Contact:")
	for _, path := range []string{"/bin/paas-static", "/.profile.d/static.sh", "/.env"} {
		if code, body, _ := s.get(app, path); code != 404 {
			t.Errorf("GET %s: %d (%d bytes), want 404", path, code, len(body))
		}
	}

	rootPEM, err := os.ReadFile(filepath.Join(s.dataDir, "local-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatal("local-ca.pem holds no certificate")
	}
	hidden := "GET /?smuggled HTTP/1.1\r\nHost: " + app + ".localhost\r\n\r\n"
	body := "0\r\n\r\n" + hidden
	raw := fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s.localhost\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%s", app, len(body), body)
	for name, dial := range map[string]func() (net.Conn, error){
		"http": func() (net.Conn, error) { return net.Dial("tcp", s.httpAddr) },
		"https": func() (net.Conn, error) {
			return tls.Dial("tcp", s.httpsAddr(), &tls.Config{RootCAs: roots, ServerName: app + ".localhost", NextProtos: []string{"http/1.1"}})
		},
	} {
		c, err := dial()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, raw)
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: reading the response: %v", name, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Errorf("%s: Content-Length and Transfer-Encoding: %s, want 400", name, res.Status)
		}
		if n, err := br.Read(make([]byte, 1)); n > 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			t.Errorf("%s: the connection stays open after the response (read %d bytes, %v)", name, n, err)
		}
		c.Close()
	}

	// A request after them is logged; the hidden one never was.
	s.mustGet(app, "/?after", "served from the slug's root")
	var logs string
	waitFor(t, func() bool {
		logs = s.paas(dir, "", "logs").stdout
		return strings.Contains(logs, `path="/?after"`)
	})
	if strings.Contains(logs, "smuggled") {
		t.Errorf("the hidden request reached the app:\n%s", logs)
	}
}
