// Package gitfetch fetches a buildpack's git repository the way paasd
// allows: with go-git, over https, http or ssh only, through a dialer that
// refuses the host's own and link-local addresses, with no credentials or
// settings of the host, and within a time and size limit. paasd runs it as
// `paasd buildpack:fetch` (Main) in the build's confinement: a build
// container on docker, a child process on exec.
package gitfetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"paas"
)

// Limits of one fetch.
const (
	// Timeout bounds a whole fetch, checkout included.
	Timeout = 2 * time.Minute
	// MaxBytes bounds both the bytes read from the network and the size
	// of the checked-out tree.
	MaxBytes int64 = 100 << 20
	// MaxFiles bounds the files of the checked-out tree.
	MaxFiles = 100_000
)

// Options change a fetch's limits; the zero value is the default.
type Options struct {
	// AllowLoopback lets the fetch reach the host's loopback addresses.
	// Only tests set it: their git servers listen on 127.0.0.1.
	AllowLoopback bool
	Timeout       time.Duration // default Timeout
	MaxBytes      int64         // default MaxBytes
	// NoCheckout leaves the commit in the repository at dest/.git,
	// under refs/paas/fetched, without writing its files out.
	NoCheckout bool
	// History fetches the commit with its whole history, not shallow,
	// so that the repository it goes into is a complete one.
	History bool
	// Fetched names, in refusals, what is fetched: "buildpacks" when
	// empty.
	Fetched string
}

// fetchMu lets one fetch run at a time in a process: the transports'
// dialer reads the running fetch's policy.
var fetchMu sync.Mutex

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// fetchedRef is where the fetched commit is kept in dest's repository.
const fetchedRef plumbing.ReferenceName = "refs/paas/fetched"

// Fetch fetches the repository url into dest (empty or missing) and checks
// out rev: a branch, a tag or a full commit id; "" is the remote's default
// branch. It returns the commit checked out.
//
// A branch or tag is fetched shallow (its tip alone; with opt.History,
// its whole history). A commit that is the tip of an advertised ref is
// fetched through that ref; any other commit is asked for by id, shallow
// (unless opt.History), when the server allows it
// (allow-reachable-sha1-in-want, as GitHub does), else the branches and
// tags are fetched whole, within the same limits, and the commit looked up
// among them.
//
// A failure the pusher should see is a *paas.Error saying nothing of the
// host; any other error is for the operator's log.
func Fetch(ctx context.Context, url, rev, dest string, opt Options) (plumbing.Hash, error) {
	installTransports()
	if opt.Timeout <= 0 {
		opt.Timeout = Timeout
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = MaxBytes
	}
	fetchMu.Lock()
	defer fetchMu.Unlock()
	current.Store(&policy{allowLoopback: opt.AllowLoopback, maxBytes: opt.MaxBytes})
	defer func() {
		httpTransport.CloseIdleConnections()
		current.Store(nil)
	}()

	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	h, err := fetch(ctx, url, rev, dest, opt)
	if err != nil {
		return plumbing.ZeroHash, explain(ctx, err, opt)
	}
	return h, nil
}

func fetch(ctx context.Context, url, rev, dest string, opt Options) (plumbing.Hash, error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("making %s: %w", dest, err)
	}
	storer := filesystem.NewStorage(osfs.New(filepath.Join(dest, ".git"), osfs.WithBoundOS()), cache.NewObjectLRUDefault())
	repo, err := git.Init(storer, osfs.New(dest, osfs.WithBoundOS()))
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("making the repository: %w", err)
	}
	remote, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}})
	if err != nil {
		return plumbing.ZeroHash, &paas.Error{Msg: "not a git URL go-git can read", Err: err}
	}
	auth, proxyOpts, err := access(url)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth, ProxyOptions: proxyOpts})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("listing refs: %w", err)
	}
	want, spec, err := pick(refs, rev)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	fo := &git.FetchOptions{
		RefSpecs: []config.RefSpec{spec}, Depth: 1, Tags: git.NoTags, Force: true,
		Auth: auth, ProxyOptions: proxyOpts,
	}
	if opt.History {
		fo.Depth = 0
	}
	err = remote.FetchContext(ctx, fo)
	if errors.Is(err, git.ErrExactSHA1NotSupported) {
		fo.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"}
		fo.Depth = 0
		err = remote.FetchContext(ctx, fo)
	}
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, fmt.Errorf("fetching: %w", err)
	}
	if want.IsZero() {
		ref, err := repo.Reference(spec.Dst(""), true)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading the fetched ref: %w", err)
		}
		want = ref.Hash()
	}
	commit, err := commitOf(repo, want)
	if err != nil {
		return plumbing.ZeroHash, noRev(rev)
	}
	if err := checkSize(commit, opt.MaxBytes); err != nil {
		return plumbing.ZeroHash, err
	}
	if opt.NoCheckout {
		ref := plumbing.NewHashReference(fetchedRef, commit.Hash)
		if err := repo.Storer.SetReference(ref); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("naming the fetched commit: %w", err)
		}
		return commit.Hash, nil
	}
	wt, err := repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("opening the work tree: %w", err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: commit.Hash, Force: true}); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("checking out %s: %w", commit.Hash, err)
	}
	return commit.Hash, nil
}

// access is the authentication and dialling of url's transport: none for
// http(s), whose URL may carry a token; anonymous through the guard for
// ssh.
func access(url string) (transport.AuthMethod, transport.ProxyOptions, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, transport.ProxyOptions{}, &paas.Error{Msg: "not a git URL go-git can read", Err: err}
	}
	switch ep.Protocol {
	case "https", "http":
		return nil, transport.ProxyOptions{}, nil
	case "ssh":
		user := ep.User
		if user == "" {
			user = "git"
		}
		return anonymousSSH{user: user}, sshProxy, nil
	}
	return nil, transport.ProxyOptions{}, paas.Errorf("the %s transport is not allowed", ep.Protocol)
}

// pick chooses what to fetch for rev among the remote's refs: the ref to
// fetch into, and the commit wanted when rev names one (else zero: the
// fetched ref's).
func pick(refs []*plumbing.Reference, rev string) (plumbing.Hash, config.RefSpec, error) {
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range refs {
		byName[r.Name()] = r
	}
	fetchRef := func(name plumbing.ReferenceName) config.RefSpec {
		return config.RefSpec(fmt.Sprintf("+%s:%s", name, fetchedRef))
	}
	if rev == "" {
		head := byName[plumbing.HEAD]
		if head == nil {
			return plumbing.ZeroHash, "", paas.Errorf("the repository is empty")
		}
		if head.Type() == plumbing.SymbolicReference {
			return plumbing.ZeroHash, fetchRef(head.Target()), nil
		}
		rev = head.Hash().String()
	}
	for _, name := range []plumbing.ReferenceName{plumbing.NewBranchReferenceName(rev), plumbing.NewTagReferenceName(rev)} {
		if byName[name] != nil {
			return plumbing.ZeroHash, fetchRef(name), nil
		}
	}
	if !fullSHA.MatchString(rev) {
		return plumbing.ZeroHash, "", noRev(rev)
	}
	want := plumbing.NewHash(rev)
	if want.IsZero() {
		return plumbing.ZeroHash, "", noRev(rev)
	}
	for _, r := range refs {
		if r.Type() == plumbing.HashReference && r.Hash() == want && r.Name() != plumbing.HEAD {
			return want, fetchRef(r.Name()), nil
		}
	}
	return want, config.RefSpec(rev + ":" + string(fetchedRef)), nil
}

// commitOf returns the commit h names, peeling annotated tags.
func commitOf(repo *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		if tag, err := repo.TagObject(h); err == nil {
			h = tag.Target
			continue
		}
		return repo.CommitObject(h)
	}
	return nil, errors.New("tag chain too long")
}

// checkSize refuses a commit whose tree holds more than maxBytes or
// MaxFiles files, before anything is written out.
func checkSize(c *object.Commit, maxBytes int64) error {
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("reading the tree: %w", err)
	}
	var size int64
	files := 0
	err = tree.Files().ForEach(func(f *object.File) error {
		size += f.Size
		files++
		if size > maxBytes || files > MaxFiles {
			return ErrTooLarge
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("reading the tree: %w", err)
	}
	return err
}

func noRev(rev string) error {
	return paas.Errorf("no branch, tag or commit %q in the repository (a commit must be given in full)", rev)
}

// explain turns a fetch error into one line the pusher may read.
func explain(ctx context.Context, err error, opt Options) error {
	var pe *paas.Error
	var refused *RefusedError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &refused):
		fetched := opt.Fetched
		if fetched == "" {
			fetched = "buildpacks"
		}
		return &paas.Error{Msg: fmt.Sprintf("its server is at a %s address, which %s are never fetched from", refused.Kind, fetched), Err: err}
	case errors.Is(err, ErrTooLarge):
		return &paas.Error{Msg: fmt.Sprintf("it is larger than the limit of %d MB (or %d files)", opt.MaxBytes>>20, MaxFiles), Err: err}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &paas.Error{Msg: fmt.Sprintf("fetching took longer than %s", opt.Timeout), Err: err}
	case errors.As(err, &pe):
		return err
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &paas.Error{Msg: "repository not found", Err: err}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &paas.Error{Msg: "the repository is empty", Err: err}
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod), strings.Contains(err.Error(), "unable to authenticate"):
		return &paas.Error{Msg: "the repository asks for credentials (put a token in an https URL)", Err: err}
	case errors.As(err, &dnsErr):
		return &paas.Error{Msg: fmt.Sprintf("cannot resolve %s", dnsErr.Name), Err: err}
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return &paas.Error{Msg: "cannot connect to its server", Err: err}
	}
	return &paas.Error{Msg: "git fetch failed", Err: err}
}
