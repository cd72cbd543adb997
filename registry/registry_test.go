package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// startRegistry serves a registry on a random port of host, stopped
// when the test ends.
func startRegistry(t *testing.T, dir, host string) *Registry {
	t.Helper()
	ln, err := net.Listen("tcp4", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Dir: dir, Addr: ln.Addr().String()})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return r
}

// client is an HTTPS client that trusts the registry's CA alone.
func client(r *Registry) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.CACertPEM())
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// get fetches path of the registry, with the account's credentials when
// auth is set, and returns the status and body.
func get(t *testing.T, r *Registry, path string, auth bool) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://"+r.cfg.Addr+path, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	if auth {
		req.SetBasicAuth(r.Credentials())
	}
	resp, err := client(r).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// tinyImage is a tar of one file with content of the test's own: the
// root file system of an image of one layer for docker import.
func tinyImage(t *testing.T, content string) string {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: int64(len(content))})
	tw.Write([]byte(content))
	tw.Close()
	f := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(f, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// docker runs the docker CLI with args and a config dir of the test's
// own (logins stay there) and fails the test when it fails.
func docker(t *testing.T, config string, args ...string) string {
	t.Helper()
	out, err := dockerErr(config, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func dockerErr(config string, args ...string) (string, error) {
	cmd := exec.Command("docker", append([]string{"--config", config}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// login logs the CLI (of the engine in host, "" for the host's) into
// the registry.
func login(t *testing.T, r *Registry, config string, host ...string) {
	t.Helper()
	user, password := r.Credentials()
	cmd := exec.Command("docker", append(append([]string{"--config", config}, host...), "login", "-u", user, "--password-stdin", r.cfg.Addr)...)
	cmd.Stdin = strings.NewReader(password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker login: %v\n%s", err, out)
	}
}

// blobs lists the digests of the blobs the registry keeps on disk.
func blobs(t *testing.T, dir string) []string {
	t.Helper()
	var ds []string
	root := filepath.Join(dir, "storage", "docker", "registry", "v2", "blobs")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "data" {
			ds = append(ds, "sha256:"+filepath.Base(filepath.Dir(p)))
		}
		return nil
	})
	slices.Sort(ds)
	return ds
}

func randomName(t *testing.T) string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TestPushDeleteGC: the host's engine pushes two images to the registry
// on loopback; a client trusting the CA alone reads them back with the
// account and is refused without; deleting one tag and collecting
// garbage removes that image's blobs from the directory and keeps the
// other's.
func TestPushDeleteGC(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("needs docker")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("needs a running Docker engine")
	}
	dir := t.TempDir()
	r := startRegistry(t, dir, "127.0.0.1")
	config := t.TempDir()
	id := randomName(t)
	repo := "regtest-" + id + "/tiny"
	local := "paas-regtest-" + id
	login(t, r, config)
	t.Cleanup(func() {
		exec.Command("docker", "image", "rm", "-f", local+":v1", local+":v2", r.Ref(repo, "v1"), r.Ref(repo, "v2")).Run()
	})
	for _, tag := range []string{"v1", "v2"} {
		docker(t, config, "import", tinyImage(t, id+" "+tag), local+":"+tag)
		docker(t, config, "tag", local+":"+tag, r.Ref(repo, tag))
		docker(t, config, "push", r.Ref(repo, tag))
	}

	if code, _ := get(t, r, "/v2/", false); code != http.StatusUnauthorized {
		t.Errorf("GET /v2/ without the account: %d, want 401", code)
	}
	code, body := get(t, r, "/v2/"+repo+"/tags/list", true)
	var tags struct{ Tags []string }
	json.Unmarshal(body, &tags)
	slices.Sort(tags.Tags)
	if code != http.StatusOK || !slices.Equal(tags.Tags, []string{"v1", "v2"}) {
		t.Fatalf("tags: %d %s", code, body)
	}
	layers := map[string][]string{} // tag → digests of its manifest's blobs
	for _, tag := range []string{"v1", "v2"} {
		code, body := get(t, r, "/v2/"+repo+"/manifests/"+tag, true)
		var m struct {
			Config struct{ Digest string }
			Layers []struct{ Digest string }
		}
		if err := json.Unmarshal(body, &m); code != http.StatusOK || err != nil {
			t.Fatalf("manifest of %s: %d %v %s", tag, code, err, body)
		}
		layers[tag] = append(layers[tag], m.Config.Digest)
		for _, l := range m.Layers {
			layers[tag] = append(layers[tag], l.Digest)
		}
	}
	before := blobs(t, dir)
	for _, d := range append(layers["v1"], layers["v2"]...) {
		if !slices.Contains(before, d) {
			t.Fatalf("blob %s not on disk: %v", d, before)
		}
	}

	ctx := context.Background()
	if err := r.Delete(ctx, repo, "v1", "v9"); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Tags(ctx, repo); err != nil || !slices.Equal(got, []string{"v2"}) {
		t.Errorf("tags after deleting v1: %v %v", got, err)
	}
	if got, err := r.Tags(ctx, "regtest-none/x"); err != nil || len(got) != 0 {
		t.Errorf("tags of a repository never pushed: %v %v", got, err)
	}
	if code, _ := get(t, r, "/v2/"+repo+"/manifests/v1", true); code != http.StatusNotFound {
		t.Errorf("deleted tag v1: %d, want 404", code)
	}
	if err := r.GC(ctx); err != nil {
		t.Fatal(err)
	}
	after := blobs(t, dir)
	for _, d := range layers["v1"] {
		if slices.Contains(after, d) {
			t.Errorf("blob %s of the deleted image left after GC", d)
		}
	}
	for _, d := range layers["v2"] {
		if !slices.Contains(after, d) {
			t.Errorf("blob %s of the kept image removed", d)
		}
	}
	// The kept image still pulls whole.
	docker(t, config, "image", "rm", r.Ref(repo, "v2"))
	docker(t, config, "pull", r.Ref(repo, "v2"))
	t.Logf("blobs on disk: %d before, %d after deleting v1 and GC", len(before), len(after))
}

// TestCAPersists: a registry started again on the same directory keeps
// its CA and its account (nodes trust the one, paasd logs in with the
// other), and serves a certificate the CA signed for its hosts.
func TestCAPersists(t *testing.T) {
	dir := t.TempDir()
	a, err := New(Config{Dir: dir, Addr: "127.0.0.1:5000", CertFor: []string{"registry.internal"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Dir: dir, Addr: "127.0.0.1:5000"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.CACertPEM(), b.CACertPEM()) {
		t.Error("the CA changed on a second start")
	}
	if _, pa := a.Credentials(); pa != func() string { _, p := b.Credentials(); return p }() || len(pa) < 32 {
		t.Error("the password changed on a second start, or is short")
	}
	leaf, err := a.ca.certificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(a.CACertPEM())
	for _, host := range []string{"127.0.0.1", "registry.internal"} {
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("certificate for %s: %v", host, err)
		}
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("the certificate is valid for example.com")
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ca.key: %v %v", fi.Mode(), err)
	}
	os.Remove(filepath.Join(dir, "ca.key"))
	if _, err := New(Config{Dir: dir, Addr: "127.0.0.1:5000"}); err == nil {
		t.Error("a CA certificate without its key was replaced silently")
	}
}
