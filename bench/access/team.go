package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"paas/bench/internal/paasd"
)

// member is a user of the team with a key of its own.
type member struct {
	name    string
	signer  gossh.Signer
	keyFile string // the private key, for the ssh client; set for the measured member only
	client  *gossh.Client
}

// team is a paasd populated with members and apps: the measured member
// (the first) owns some apps and collaborates on others; the rest of the
// apps belong to the other members.
type team struct {
	srv     *paasd.Server
	admin   *gossh.Client
	members []*member
	visible []string // the apps the measured member may see
	all     []string // every app
	setup   time.Duration
}

// layout says how many members and apps a team has and how the measured
// member stands to them.
type layout struct {
	label   string
	users   int // members, the measured one included (the admin is extra)
	apps    int
	owned   int // apps the measured member owns
	collabs int // apps of others the measured member collaborates on
}

// populate adds l's members over SSH as the admin, has each member create
// its apps over its own connection and share some with the measured
// member, running up to parallel commands at once; it returns the team
// with the time it all took.
func populate(ctx context.Context, srv *paasd.Server, l layout, parallel int) (*team, error) {
	start := time.Now()
	t := &team{srv: srv}
	admin, err := loadSigner(srv.Key)
	if err != nil {
		return nil, err
	}
	if t.admin, err = dial(srv, admin); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	for i := range l.users {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		signer, err := gossh.NewSignerFromKey(priv)
		if err != nil {
			return nil, err
		}
		m := &member{name: fmt.Sprintf("bench-u%03d", i+1), signer: signer}
		if i == 0 {
			if m.keyFile, err = writeKey(srv.Dir, m.name, priv); err != nil {
				return nil, err
			}
		}
		t.members = append(t.members, m)
	}
	var jobs []job
	for _, m := range t.members {
		pub := gossh.MarshalAuthorizedKey(m.signer.PublicKey())
		jobs = append(jobs, job{t.admin, "keys:add " + m.name, pub})
	}
	if err := runAll(ctx, jobs, parallel); err != nil {
		return nil, err
	}
	for _, m := range t.members {
		if m.client, err = dial(srv, m.signer); err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
	}
	// The measured member owns the first apps; the others go round the
	// other members.
	jobs = jobs[:0]
	owners := map[string]*member{}
	for i := range l.apps {
		name := fmt.Sprintf("bench-a%04d", i+1)
		m := t.members[0]
		if i >= l.owned && len(t.members) > 1 {
			m = t.members[1+(i-l.owned)%(len(t.members)-1)]
		}
		owners[name] = m
		t.all = append(t.all, name)
		if m == t.members[0] {
			t.visible = append(t.visible, name)
		}
		jobs = append(jobs, job{m.client, "apps:create " + name, nil})
	}
	if err := runAll(ctx, jobs, parallel); err != nil {
		return nil, err
	}
	jobs = jobs[:0]
	for _, name := range t.all[l.owned:min(l.owned+l.collabs, len(t.all))] {
		jobs = append(jobs, job{owners[name].client, "access:add " + name + " " + t.members[0].name, nil})
		t.visible = append(t.visible, name)
	}
	if err := runAll(ctx, jobs, parallel); err != nil {
		return nil, err
	}
	t.setup = time.Since(start)
	return t, nil
}

// destroy destroys every app of the team in parallel and closes its
// connections.
func (t *team) destroy(ctx context.Context, parallel int) error {
	var jobs []job
	for _, name := range t.all {
		jobs = append(jobs, job{t.admin, "apps:destroy " + name + " --confirm " + name, nil})
	}
	err := runAll(ctx, jobs, parallel)
	for _, m := range t.members {
		if m.client != nil {
			m.client.Close()
		}
	}
	t.admin.Close()
	return err
}

// job is one command run in a session of an open connection.
type job struct {
	client  *gossh.Client
	command string
	stdin   []byte
}

func (j job) run() error {
	sess, err := j.client.NewSession()
	if err != nil {
		return fmt.Errorf("%s: opening a session: %w", j.command, err)
	}
	defer sess.Close()
	var out bytes.Buffer
	sess.Stdin = bytes.NewReader(j.stdin)
	sess.Stdout, sess.Stderr = &out, &out
	if err := sess.Run(j.command); err != nil {
		return fmt.Errorf("%s: %w: %s", j.command, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// runAll runs jobs, parallel at a time, and returns the first failure.
func runAll(ctx context.Context, jobs []job, parallel int) error {
	next := make(chan job)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				if err := j.run(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	return err
}

func dial(srv *paasd.Server, signer gossh.Signer) (*gossh.Client, error) {
	return gossh.Dial("tcp", "127.0.0.1:"+srv.SSHPort, &gossh.ClientConfig{
		User:            "paas",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	})
}

func loadSigner(path string) (gossh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return gossh.ParsePrivateKey(b)
}

// writeKey writes a private key for the ssh client into dir.
func writeKey(dir, name string, priv ed25519.PrivateKey) (string, error) {
	block, err := gossh.MarshalPrivateKey(priv, name)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "id_"+name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", fmt.Errorf("writing %s's key: %w", name, err)
	}
	return path, nil
}
