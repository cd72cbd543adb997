package deploy

import "context"

// switchedKey carries what a rollout does once the router has switched
// to the new release's instances.
type switchedKey struct{}

// onSwitch returns ctx with f to be called once (by switched) when the
// router sends the new release's traffic to its instances.
func onSwitch(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, switchedKey{}, f)
}

// switched calls what onSwitch gave ctx, if anything.
func switched(ctx context.Context) {
	if f, ok := ctx.Value(switchedKey{}).(func()); ok {
		f()
	}
}
