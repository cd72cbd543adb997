package gateway

import (
	"fmt"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"paas"
)

// cmdGitFromArchive is `git:from-archive APP < ARCHIVE`: it commits the
// tree of a tar or tar.gz archive read from stdin into the app's repo, on
// top of the app's branch (author the user, message "Deploy from
// archive"), and deploys that commit as a push of it would be, so that
// its releases still name a commit.
func cmdGitFromArchive(s *Server, r *request, app string, args []string) error {
	if len(args) != 0 {
		return usageError(lookupCommand("git:from-archive"))
	}
	if r.tty != nil {
		return paas.Errorf("git:from-archive reads a tar or tar.gz archive on stdin, not from a terminal")
	}
	if _, err := s.cfg.Platform.App(r.ctx, app); err != nil {
		return err
	}
	repo := s.repoPath(app)
	if err := s.initRepo(r.ctx, repo); err != nil {
		return err
	}
	branch, old, err := deployBranch(repo)
	if err != nil {
		return err
	}
	st := filesystem.NewStorage(osfs.New(repo, osfs.WithBoundOS()), cache.NewObjectLRUDefault())
	fmt.Fprintln(r.stdout, "-----> Reading the archive")
	tree, files, err := archiveTree(st, r.stdin)
	if err != nil {
		return err
	}
	commit, err := writeCommit(st, tree, old, r.by, "Deploy from archive", s.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "       %d files, commit %s\n", files, commit)
	return s.deployCommit(r, app, repo, refUpdate{Old: old, New: commit.String(), Ref: branch}, "git:from-archive", r.stdout)
}
