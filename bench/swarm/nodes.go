package main

// nodeHistory is the set of swarm nodes that have run an instance of
// the app: those have the layers of the app's image under its newest
// layer (the stack's, above all), which a node new to the app first
// pulls from paasd's registry.
type nodeHistory map[string]bool

// learn records the nodes of ins and tells whether one of them had not
// run the app before. Instances without a node (PAAS_SCHEDULER=local)
// are never new.
func (h nodeHistory) learn(ins []instance) bool {
	fresh := false
	for _, in := range ins {
		if in.Node == nil || *in.Node == "" {
			continue
		}
		if !h[*in.Node] {
			h[*in.Node], fresh = true, true
		}
	}
	return fresh
}
