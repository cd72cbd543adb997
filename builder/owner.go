package builder

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"paas/internal/owner"
)

// handToApp prepares a host build to run as the app's own user, when
// Config.Credential names one, and returns that user (nil: the steps run
// as this process's user and nothing changes).
//
// The user gets the slug (extracted by this process), the app's CACHE_DIR
// and HOME, and ENV_DIR, each closed to everyone else (0700). The
// directories above them stay this process's and can be passed through
// but not listed (0711), so the user can neither see other builds nor
// swap a link in where this process later writes or removes. Everything
// that is given away is this process's until then, and goes from the
// bottom up (owner.Tree): no step of the user runs inside it while it
// changes owner.
func (b *Builder) handToApp(st *buildState, envDir string) (*syscall.Credential, error) {
	if b.cfg.Credential == nil {
		return nil, nil
	}
	cred, err := b.cfg.Credential(st.req.App)
	if err != nil || cred == nil {
		return cred, err
	}
	uid, gid := int(cred.Uid), int(cred.Gid)
	for _, d := range []string{filepath.Dir(st.slug), filepath.Dir(st.cache), st.work} {
		if err := os.Chmod(d, 0o711); err != nil {
			return nil, fmt.Errorf("preparing the build's directories: %w", err)
		}
	}
	if err := os.Chmod(st.slug, 0o700); err != nil {
		return nil, fmt.Errorf("preparing the build's directories: %w", err)
	}
	if err := owner.Tree(st.slug, uid, gid); err != nil {
		return nil, err
	}
	for _, d := range []string{st.cache, st.home} {
		// The cache stays the user's from one build to the next; one made
		// by a build that ran as this process is given away once.
		mine, err := owner.Owns(d, uid)
		if err != nil {
			return nil, fmt.Errorf("checking the build cache: %w", err)
		}
		if mine {
			continue
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, fmt.Errorf("preparing the build cache: %w", err)
		}
		if err := owner.Tree(d, uid, gid); err != nil {
			return nil, err
		}
	}
	if err := owner.Tree(envDir, uid, gid); err != nil {
		return nil, err
	}
	return cred, nil
}
