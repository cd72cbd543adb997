package runtime

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/swarm"
)

// swarmServiceLabel is the label the engine puts on the container of a
// swarm service's task.
const swarmServiceLabel = "com.docker.swarm.service.id"

// LabelPort on a web instance's service is the port its process listens
// on in its container (the target of its published port).
const LabelPort = "paas.port"

// swarmLogDriver keeps each task's output on its node where the manager
// can read it back for the app's stream (the "none" driver the docker
// runtime uses cannot be read back, and a service has no attach), in
// files of bounded size.
var swarmLogDriver = &swarm.Driver{Name: "local", Options: map[string]string{"max-size": "10m", "max-file": "2"}}

// serviceName returns the name of an instance's service:
// "paas-APP-TYPE-N-vR-XXXXXX" (names are unique in the swarm, and an
// instance of one name runs in two releases during a deploy).
func serviceName(sp Spec) string {
	return fmt.Sprintf("paas-%s-%s-%d-v%d-%s", sp.App, strings.ToLower(cleanName(sp.Type)), sp.Index, sp.Release, randomSuffix())
}

// serviceSpec returns the swarm service of one instance of sp running
// image ref on network net: the container the docker runtime would make
// (the same entrypoint, environment, user, capabilities, limits and
// labels), as one replica that the swarm never restarts itself (paasd's
// supervisor does, as for every runtime), its web port published in host
// mode on a port its node picks.
func serviceSpec(sp Spec, ref, net string, prof imageProfile, lim limits, owner string) (swarm.ServiceSpec, error) {
	cfg, hc, err := instanceConfig(sp, "", prof.workDir)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	if err := keepEntrypoint(cfg, sp.Command, prof); err != nil {
		return swarm.ServiceSpec{}, err
	}
	confine(cfg, hc, prof, lim)
	labels := maps.Clone(cfg.Labels)
	if owner != "" {
		labels[LabelOwner] = owner
	}
	if sp.Web {
		labels[LabelPort] = strconv.Itoa(containerPort(sp))
	}
	init := true
	cs := &swarm.ContainerSpec{
		Image:          ref,
		Labels:         labels,
		Command:        cfg.Entrypoint,
		Args:           cfg.Cmd,
		Env:            cfg.Env,
		Dir:            cfg.WorkingDir,
		User:           cfg.User,
		Init:           &init,
		CapabilityDrop: hc.CapDrop,
		// Engines of API 1.46 (Docker 27) and later honour it; older
		// ones ignore the field.
		Privileges: &swarm.Privileges{NoNewPrivileges: slices.Contains(hc.SecurityOpt, noNewPrivileges)},
	}
	if sp.StopTimeout > 0 {
		g := sp.StopTimeout
		cs.StopGracePeriod = &g
	}
	one := uint64(1)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: serviceName(sp), Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: cs,
			Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{
				NanoCPUs: hc.NanoCPUs, MemoryBytes: hc.Memory, Pids: *hc.PidsLimit,
			}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: net, Aliases: []string{sp.Type}}},
			LogDriver:     swarmLogDriver,
		},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR},
	}
	if sp.Web {
		spec.EndpointSpec.Ports = []swarm.PortConfig{{
			Protocol:    swarm.PortConfigProtocolTCP,
			TargetPort:  uint32(containerPort(sp)),
			PublishMode: swarm.PortConfigPublishModeHost,
		}}
	}
	return spec, nil
}
