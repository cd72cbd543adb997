package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"paas/bench/internal/paasd"
	"paas/loadgen"
)

func init() { register("disk-full", diskFull) }

// diskFull runs paasd (exec runtime) on a data dir of its own small
// tmpfs, fills it while an app serves under load, tries a config:set and
// a push, frees the room, and measures the time from freeing it until
// both work again, the requests that failed while the disk was full (the
// running app must keep serving: 0), and the config vars acknowledged
// before the disk filled that are missing afterwards.
func diskFull(ctx context.Context, ws *paasd.Workspace) ([]outcome, error) {
	if os.Geteuid() != 0 {
		return []outcome{{Note: "not run: mounting a tmpfs needs root"}}, nil
	}
	dir := filepath.Join(ws.Root, "disk-full")
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o711); err != nil {
		return nil, err
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=96m,mode=0711", "paas-bench-full", data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mounting a tmpfs: %w: %s", err, out)
	}
	defer exec.Command("umount", "-l", data).Run()
	s, err := paasd.Start(paasd.Config{Binary: ws.Binary, Dir: dir, Runtime: "exec"})
	if err != nil {
		return nil, err
	}
	defer s.Stop()

	const app = "bench-full"
	repo, err := s.NewRepo(ctx, app, os.DirFS("e2e/testdata/apps/graceful"))
	if err != nil {
		return nil, err
	}
	if _, err := repo.Push(ctx, 0); err != nil {
		return nil, fmt.Errorf("first push: %w", err)
	}
	if _, err := s.WaitRelease(ctx, app, 2*time.Minute, func(int) bool { return true }); err != nil {
		return nil, err
	}
	const acked = 5
	for i := range acked {
		if _, err := s.SSH(ctx, fmt.Sprintf("config:set %s KEPT_%d=%d", app, i, i)); err != nil {
			return nil, err
		}
	}
	run := loadgen.Start(ctx, loadgen.Config{URL: "http://" + s.HTTPAddr + "/", Host: app + ".localhost", Conns: 2, Timeout: 5 * time.Second})

	filler := filepath.Join(data, "filler")
	if err := fillDisk(filler); err != nil {
		run.Stop()
		return nil, err
	}
	var notes []string
	// A small change may fit in the free pages of the store's file: this
	// one does not.
	if _, err := s.SSH(ctx, "config:set "+app+" DURING="+strings.Repeat("x", 64<<10)); err == nil || !strings.Contains(err.Error(), "the server's disk is full") {
		notes = append(notes, fmt.Sprintf("config:set on a full disk: %v", err))
	}
	if _, err := repo.Push(ctx, 1); err == nil {
		notes = append(notes, "a push on a full disk succeeded")
	}
	full := run.Snapshot()
	if err := os.Remove(filler); err != nil {
		run.Stop()
		return nil, err
	}
	freed := time.Now()
	var o outcome
	o.Requests, o.Failed = int(full.Requests), int(full.Failures)
	for {
		if _, err := s.SSH(ctx, "config:set "+app+" AFTER=1"); err == nil {
			break
		} else if time.Since(freed) > time.Minute {
			run.Stop()
			return nil, fmt.Errorf("config:set a minute after freeing room: %w", err)
		}
	}
	if _, err := repo.Push(ctx, 2); err != nil {
		run.Stop()
		return nil, fmt.Errorf("push after freeing room: %w", err)
	}
	o.Recovery = time.Since(freed)
	run.Stop()
	cfg, err := s.SSH(ctx, "config "+app)
	if err != nil {
		return nil, err
	}
	o.Acked = acked
	for i := range acked {
		if !strings.Contains(cfg, fmt.Sprintf("KEPT_%d", i)) {
			o.Lost++
		}
	}
	o.Note = "exec: config:set and push refused while full; recovery is freeing to a push live"
	if len(notes) > 0 {
		o.Note += " (" + strings.Join(notes, "; ") + ")"
	}
	return []outcome{o}, nil
}

// fillDisk writes path until its file system has no room left.
func fillDisk(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, size := range []int{1 << 20, 4096, 1} {
		buf := make([]byte, size)
		for {
			if _, err := f.Write(buf); errors.Is(err, syscall.ENOSPC) {
				break
			} else if err != nil {
				return fmt.Errorf("filling the disk: %w", err)
			}
		}
	}
	return nil
}
