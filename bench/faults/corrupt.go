package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"paas/bench/internal/paasd"
	"paas/store"
)

func init() { register("corrupt-state", runCorrupt) }

const (
	corruptSource  = "e2e/testdata/apps/graceful"
	corruptHealthy = 3 // apps left healthy beside the damaged one
	corruptTimeout = 2 * time.Minute
)

// corruption damages app in the data dir of a stopped paasd.
type corruption struct {
	runtime string
	note    string
	damage  func(ctx context.Context, dataDir, app string) error
	// reported is what apps says on stderr about the damaged app.
	reported string
}

var corruptions = []corruption{
	{"exec", "one app's record garbled", garbleAppRecord, "its record in paasd's store cannot be read"},
	{"exec", "one release's slug removed", removeArtifact, "the slug of release v1 is missing"},
	{"docker", "one release's image removed", removeArtifact, "the image of release v1 is missing"},
}

// runCorrupt runs each corruption: apps are pushed and their config set,
// paasd is stopped, one app is damaged, and the recovery is the time from
// starting paasd again until every healthy app answers. Acked writes are
// the config vars set on the healthy apps; lost ones those missing
// afterwards. The docker run needs an engine and the stack image.
func runCorrupt(ctx context.Context, ws *paasd.Workspace) ([]outcome, error) {
	var outs []outcome
	for i, c := range corruptions {
		if c.runtime == "docker" && exec.CommandContext(ctx, "docker", "info").Run() != nil {
			outs = append(outs, outcome{Note: "docker: skipped, no Docker engine"})
			continue
		}
		o, err := corruptOnce(ctx, ws, fmt.Sprintf("corrupt-%d", i), c)
		if err != nil {
			return outs, fmt.Errorf("%s: %w", c.note, err)
		}
		outs = append(outs, o)
	}
	return outs, nil
}

func corruptOnce(ctx context.Context, ws *paasd.Workspace, dir string, c corruption) (o outcome, err error) {
	cfg := paasd.Config{Binary: ws.Binary, Dir: filepath.Join(ws.Root, dir), Runtime: c.runtime}
	srv, err := paasd.Start(cfg)
	if err != nil {
		return o, err
	}
	apps := []string{"cstate-damaged"}
	for i := range corruptHealthy {
		apps = append(apps, fmt.Sprintf("cstate-ok%d", i+1))
	}
	defer func() {
		// The damaged app is destroyed like the others.
		for _, app := range apps {
			if _, derr := srv.SSH(ctx, "apps:destroy "+app+" --confirm "+app); derr != nil && err == nil {
				err = derr
			}
		}
		if herr := srv.Halt(); herr != nil && err == nil {
			err = herr
		}
	}()
	for _, app := range apps {
		repo, err := srv.NewRepo(ctx, app, os.DirFS(corruptSource))
		if err != nil {
			return o, err
		}
		if _, err := repo.Push(ctx, 0); err != nil {
			return o, fmt.Errorf("pushing %s: %w", app, err)
		}
		if _, err := srv.WaitRelease(ctx, app, corruptTimeout, func(v int) bool { return v == 1 }); err != nil {
			return o, err
		}
		if app == apps[0] {
			continue
		}
		// An acknowledged write; its release v2 is what must answer.
		if _, err := srv.SSH(ctx, "config:set "+app+" ACKED="+app); err != nil {
			return o, err
		}
		o.Acked++
	}
	if err := srv.Halt(); err != nil {
		return o, err
	}
	if err := c.damage(ctx, filepath.Join(cfg.Dir, "data"), apps[0]); err != nil {
		return o, fmt.Errorf("damaging %s: %w", apps[0], err)
	}
	start := time.Now()
	if srv, err = paasd.Start(cfg); err != nil {
		return o, err
	}
	for _, app := range apps[1:] {
		if _, err := srv.WaitRelease(ctx, app, corruptTimeout, func(v int) bool { return v == 2 }); err != nil {
			return o, err
		}
	}
	o.Recovery = time.Since(start)
	for _, app := range apps[1:] {
		if v, err := srv.SSH(ctx, "config:get "+app+" ACKED"); err != nil || strings.TrimSpace(v) != app {
			o.Lost++
		}
	}
	stderr, err := sshStderr(ctx, srv, "apps")
	if err != nil {
		return o, err
	}
	if !strings.Contains(stderr, "app "+apps[0]+" is damaged: "+c.reported) {
		return o, fmt.Errorf("apps does not report %s: %q", apps[0], stderr)
	}
	o.Note = fmt.Sprintf("%s: %s; %d apps answer, the damaged one is reported", c.runtime, c.note, corruptHealthy)
	return o, nil
}

// sshStderr runs command on srv and returns what it wrote to stderr.
func sshStderr(ctx context.Context, srv *paasd.Server, command string) (string, error) {
	cmd := exec.CommandContext(ctx, "ssh", srv.SSHArgs(command)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ssh %s: %w: %s", command, err, stderr.String())
	}
	return stderr.String(), nil
}

// garbleAppRecord overwrites app's record in the store with bytes that
// are not its JSON.
func garbleAppRecord(_ context.Context, dataDir, app string) error {
	db, err := bolt.Open(filepath.Join(dataDir, "paas.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("apps"))
		if b == nil || b.Get([]byte(app)) == nil {
			return errors.New("no record to garble")
		}
		return b.Put([]byte(app), []byte("{\"Name\":\"\x00\xfe garbled"))
	})
}

// removeArtifact removes the build of app's current release: its slug
// directory (exec), or its containers and image (docker).
func removeArtifact(ctx context.Context, dataDir, app string) error {
	st, err := store.Open(filepath.Join(dataDir, "paas.db"))
	if err != nil {
		return err
	}
	a, err := st.App(app)
	if err != nil {
		st.Close()
		return err
	}
	rel, err := st.Release(app, a.Release)
	st.Close()
	if err != nil {
		return err
	}
	if filepath.IsAbs(rel.Slug) {
		return os.RemoveAll(rel.Slug)
	}
	out, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label=paas.app="+app).Output()
	if err != nil {
		return fmt.Errorf("listing the containers of %s: %w", app, err)
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		if out, err := exec.CommandContext(ctx, "docker", append([]string{"rm", "-f"}, ids...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("removing the containers of %s: %w: %s", app, err, out)
		}
	}
	if out, err := exec.CommandContext(ctx, "docker", "image", "rm", rel.Slug).CombinedOutput(); err != nil {
		return fmt.Errorf("removing image %s: %w: %s", rel.Slug, err, out)
	}
	return nil
}
