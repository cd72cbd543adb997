package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	registrytypes "github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// registryRepo and registryTag name a local image in the registry: the
// builder's "paas/APP:bN" keeps its name, anything else becomes
// paas/APP with a tag made of its name.
func registryRepo(app, local string) (repo, tag string) {
	name, t, ok := strings.Cut(local, ":")
	if ok && strings.HasPrefix(name, "paas/") && !strings.Contains(t, "/") {
		return name, t
	}
	return "paas/" + app, "i-" + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '-'
	}, local)
}

// distribute pushes the local image to the registry, once per image,
// and returns the reference nodes pull it by: the registry's name of it
// pinned to the digest pushed.
func (s *Swarm) distribute(ctx context.Context, local string) (string, error) {
	app := ""
	if strings.HasPrefix(local, "paas/") {
		app = strings.TrimPrefix(strings.SplitN(local, ":", 2)[0], "paas/")
	}
	repo, tag := registryRepo(app, local)
	return s.distributeAs(ctx, local, local, repo, tag)
}

// distributeAs pushes the local image as repo:tag, once per key.
func (s *Swarm) distributeAs(ctx context.Context, local, key, repo, tag string) (string, error) {
	s.imgMu.Lock()
	defer s.imgMu.Unlock()
	if ref, ok := s.pushed[key]; ok {
		return ref, nil
	}
	ref := s.cfg.Registry.Ref(repo, tag)
	if err := s.cfg.Local.ImageTag(ctx, local, ref); err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("image %s not found: %w", local, ErrArtifactMissing)
		}
		return "", fmt.Errorf("tagging %s for the registry: %w", local, err)
	}
	rc, err := s.cfg.Local.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: s.registryAuth()})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	defer rc.Close()
	digest := ""
	err = jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, func(m jsonmessage.JSONMessage) {
		var aux struct{ Digest string }
		if m.Aux != nil && json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
			digest = aux.Digest
		}
	})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	// The registry's name of it is not kept here: the builder's name
	// is, and pruning it frees the image.
	if _, err := s.cfg.Local.ImageRemove(ctx, ref, image.RemoveOptions{}); err != nil {
		s.log.Warn("untagging a pushed image", "ref", ref, "err", err)
	}
	if digest != "" {
		ref += "@" + digest
	}
	s.pushed[key] = ref
	s.log.Info("image pushed", "image", local, "ref", ref)
	return ref, nil
}

// Warm has the engine eng, a node joining the swarm, pull the stack
// image from the registry (pushing it there first), so that the first
// instance of each app on that node pulls only the layers of its build:
// every app image is made on the stack and shares its layers.
func (s *Swarm) Warm(ctx context.Context, eng *client.Client, stack string) error {
	insp, err := s.cfg.Local.ImageInspect(ctx, stack)
	if err != nil {
		return fmt.Errorf("inspecting the stack image %s: %w", stack, err)
	}
	id := strings.TrimPrefix(insp.ID, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	ref, err := s.distributeAs(ctx, stack, "stack@"+insp.ID, "paas/stack", id)
	if err != nil {
		return err
	}
	return pull(ctx, eng, ref, s.registryAuth())
}

// pull pulls ref on eng unless it has it.
func pull(ctx context.Context, eng *client.Client, ref, auth string) error {
	if _, err := eng.ImageInspect(ctx, ref); err == nil {
		return nil
	}
	rc, err := eng.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	return nil
}

// registryAuth is the registry's account, encoded as the engine takes it.
func (s *Swarm) registryAuth() string {
	user, pass := s.cfg.Registry.Credentials()
	addr, _, _ := strings.Cut(s.cfg.Registry.Ref("x", "x"), "/")
	enc, err := registrytypes.EncodeAuthConfig(registrytypes.AuthConfig{Username: user, Password: pass, ServerAddress: addr})
	if err != nil {
		return ""
	}
	return enc
}

// pullOnManager pulls ref on the manager's engine unless it has it.
func (s *Swarm) pullOnManager(ctx context.Context, ref string) error {
	if err := pull(ctx, s.mgr, ref, s.registryAuth()); err != nil {
		return fmt.Errorf("on the manager: %w", err)
	}
	return nil
}

// EnsureNetwork returns the name of app's overlay network, creating it
// when missing, as starting an instance does. Containers on the
// manager's engine (an app's backing services) join it to be reached by
// the app's instances on every node.
func (s *Swarm) EnsureNetwork(ctx context.Context, app string) (string, error) {
	return s.ensureNetwork(ctx, app)
}

// ensureNetwork returns the name of app's overlay network, creating it
// when missing: attachable, so that one-offs on the manager's engine
// join it too.
func (s *Swarm) ensureNetwork(ctx context.Context, app string) (string, error) {
	name := networkName(app)
	s.netMu.Lock()
	defer s.netMu.Unlock()
	n, err := s.mgr.NetworkInspect(ctx, name, network.InspectOptions{})
	if err == nil {
		if n.Driver != "overlay" {
			return "", fmt.Errorf("network %s exists and is not an overlay network (driver %s)", name, n.Driver)
		}
		return name, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspecting network %s: %w", name, err)
	}
	_, err = s.mgr.NetworkCreate(ctx, name, network.CreateOptions{
		Driver:     "overlay",
		Attachable: true,
		Labels:     map[string]string{LabelManaged: "true", LabelApp: app},
	})
	if err != nil && !cerrdefs.IsConflict(err) {
		if poolsExhausted(err) {
			return "", fmt.Errorf("creating network %s: %w", name, ErrNoAddressPool)
		}
		return "", fmt.Errorf("creating network %s: %w", name, err)
	}
	s.log.Info("network created", "app", app, "network", name)
	return name, nil
}
