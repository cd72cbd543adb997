package deploy

import "context"

// switchedKey carries what a rollout does once the router has switched
// to the new release's instances.
type switchedKey struct{}

// onSwitch returns ctx with f, which switched calls each time the
// router sends a rollout's traffic to its new instances.
func onSwitch(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, switchedKey{}, f)
}

// switched calls what onSwitch gave ctx, if anything.
func switched(ctx context.Context) {
	if f, ok := ctx.Value(switchedKey{}).(func()); ok {
		f()
	}
}
