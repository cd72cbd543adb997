package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"

	"github.com/moby/sys/user"

	"paas/store"
)

// defaultExecUser is the account paasd makes when PAAS_EXEC_USER is not
// set and no such account exists.
const defaultExecUser = "paas-app"

// accountName is what PAAS_EXEC_USER may be: a portable account name.
var accountName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// subIDCount is the size of the id ranges given to an account paasd
// makes: one uid and one gid for each of this many apps.
const subIDCount = 65536

// execUsers gives every app of the exec runtime a user and group of its
// own, for a paasd that runs as root: app number n (store.ExecID) runs as
// the n-th uid and gid of the exec account's subordinate ranges
// (/etc/subuid, /etc/subgid), as Docker's user-namespace remapping uses
// them. Those ids belong to no account, own nothing of the host, and an
// app's processes have no other groups: an app can reach its own slug
// and cache, and no other app's processes or files.
type execUsers struct {
	account string
	ids     user.IdentityMapping
	size    int // apps that can have ids
	st      *store.Store
}

// setupExecUsers returns the per-app users of the exec runtime, making
// the default account when it is missing; it returns nil when paasd does
// not run as root (apps then run as paasd's own user, which it logs).
//
// An account named by PAAS_EXEC_USER must exist: a typo must not make a
// new account. The default one is made with useradd (a system account
// with no home and no login shell) and given id ranges with usermod, so
// that a root paasd confines apps without an operator's step.
func setupExecUsers(cfg config, st *store.Store, log *slog.Logger) (*execUsers, error) {
	if os.Geteuid() != 0 {
		if cfg.ExecUserSet {
			return nil, fmt.Errorf("PAAS_EXEC_USER is set but paasd does not run as root, so it cannot run apps as other users")
		}
		log.Warn("exec runtime: apps and their builds run as paasd's own user and can read and change everything paasd can (its data dir and store included); run paasd as root to give each app a user of its own",
			"uid", os.Geteuid())
		return nil, nil
	}
	_, err := user.LookupUser(cfg.ExecUser)
	switch {
	case errors.Is(err, user.ErrNoPasswdEntries) && !cfg.ExecUserSet:
		if err := makeExecAccount(cfg.ExecUser); err != nil {
			return nil, err
		}
		log.Info("made the account whose subordinate ids apps run as", "account", cfg.ExecUser)
	case errors.Is(err, user.ErrNoPasswdEntries):
		return nil, fmt.Errorf("PAAS_EXEC_USER: there is no account %q on this host", cfg.ExecUser)
	case err != nil:
		return nil, fmt.Errorf("PAAS_EXEC_USER: looking up %q: %w", cfg.ExecUser, err)
	}
	ids, err := user.LoadIdentityMapping(cfg.ExecUser)
	if err != nil {
		return nil, fmt.Errorf("PAAS_EXEC_USER: %s has no subordinate uid and gid ranges in /etc/subuid and /etc/subgid: add them, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s",
			cfg.ExecUser, cfg.ExecUser)
	}
	u := &execUsers{account: cfg.ExecUser, ids: ids, st: st, size: min(idCount(ids.UIDMaps), idCount(ids.GIDMaps))}
	for _, m := range append(ids.UIDMaps, ids.GIDMaps...) {
		if m.ParentID <= 0 {
			return nil, fmt.Errorf("PAAS_EXEC_USER: a subordinate range of %s includes id 0 (root)", cfg.ExecUser)
		}
	}
	first, _, _ := ids.ToHost(0, 0)
	log.Info("exec runtime: each app and its builds run as a user of its own, with no groups besides its own",
		"account", cfg.ExecUser, "first_uid", first, "apps", u.size)
	return u, nil
}

// Credential returns the user and group app's processes run as.
func (u *execUsers) Credential(app string) (*syscall.Credential, error) {
	n, err := u.st.ExecID(app)
	if err != nil {
		return nil, err
	}
	if n >= u.size {
		return nil, fmt.Errorf("no user left for %s: the %d subordinate ids of %s are used up", app, u.size, u.account)
	}
	uid, gid, err := u.ids.ToHost(n, n)
	if err != nil {
		return nil, fmt.Errorf("the user of %s: %w", app, err)
	}
	// No Groups and NoSetGroups unset: the process has no supplementary
	// groups, root's included.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// idCount is how many ids the ranges hold.
func idCount(m []user.IDMap) int {
	var n int64
	for _, r := range m {
		n += r.Count
	}
	return int(min(n, 1<<31-1))
}

// makeExecAccount makes a system account with no home and no login
// shell that has subIDCount subordinate uids and gids: useradd gives
// them (--add-subids-for-system); a useradd too old for that option
// makes the account, and usermod adds ids past every range handed out.
// Another paasd making the same account at the same time is no error.
func makeExecAccount(name string) error {
	shell := "/bin/false"
	for _, p := range []string{"/usr/sbin/nologin", "/sbin/nologin"} {
		if _, err := os.Stat(p); err == nil {
			shell = p
			break
		}
	}
	// useradd gives ranges only when the files exist.
	for _, path := range []string{"/etc/subuid", "/etc/subgid"} {
		f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("making the account %s for apps: %w", name, err)
		}
		f.Close()
	}
	args := []string{"--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
		"--shell", shell, "--comment", "paas apps (exec runtime)", "--", name}
	err := runAdmin("useradd", append([]string{"--add-subids-for-system"}, args...)...)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 { // an option it does not know
		err = runAdmin("useradd", args...)
	}
	if err != nil {
		if _, lerr := user.LookupUser(name); lerr == nil {
			return nil
		}
		return fmt.Errorf("making the account %s for apps: %w", name, err)
	}
	if _, err := user.LoadIdentityMapping(name); err == nil {
		return nil
	}
	start, err := freeSubIDs()
	if err != nil {
		return fmt.Errorf("giving %s subordinate ids: %w", name, err)
	}
	r := strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(start+subIDCount-1, 10)
	if err := runAdmin("usermod", "--add-subuids", r, "--add-subgids", r, "--", name); err != nil {
		return fmt.Errorf("giving %s subordinate ids: %w", name, err)
	}
	return nil
}

// freeSubIDs returns the start of a block of subIDCount ids that no
// range in /etc/subuid or /etc/subgid touches: 100000 (login.defs'
// SUB_UID_MIN default) or the end of the last range.
func freeSubIDs() (int64, error) {
	end := int64(100000)
	for _, path := range []string{"/etc/subuid", "/etc/subgid"} {
		ranges, err := user.ParseSubIDFile(path)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", path, err)
		}
		for _, r := range ranges {
			end = max(end, r.SubID+r.Count)
		}
	}
	return end, nil
}

// runAdmin runs one of the shadow tools, by argv; its output becomes the
// error's text when it fails.
func runAdmin(name string, args ...string) error {
	path, err := exec.LookPath(name)
	if err != nil {
		path = "/usr/sbin/" + name
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}
