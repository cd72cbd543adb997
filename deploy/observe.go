package deploy

import "time"

// Observer is told of what the platform counts and marks on its charts.
// Its methods are called on the pipeline's path and must not block.
type Observer interface {
	// BuildStarted: a build of app started; BuildFailed: it failed.
	BuildStarted(app string)
	BuildFailed(app string)
	// ReleaseLive: release version of app went live at at (a deploy, a
	// config change, a rollback); ReleaseFailed: it failed to.
	ReleaseLive(app string, version int, at time.Time)
	ReleaseFailed(app string, version int)
	// Restarted: a crashed instance of app was started again.
	Restarted(app, instance string)
	// AppDestroyed and AppRenamed: the app is gone, or has a new name.
	AppDestroyed(app string)
	AppRenamed(old, new string)
}

// noObserver is the Observer of a Service configured without one.
type noObserver struct{}

func (noObserver) BuildStarted(string)                {}
func (noObserver) BuildFailed(string)                 {}
func (noObserver) ReleaseLive(string, int, time.Time) {}
func (noObserver) ReleaseFailed(string, int)          {}
func (noObserver) Restarted(string, string)           {}
func (noObserver) AppDestroyed(string)                {}
func (noObserver) AppRenamed(string, string)          {}

// observer returns the configured Observer, or one that ignores all.
func (s *Service) observer() Observer {
	if s.cfg.Observer == nil {
		return noObserver{}
	}
	return s.cfg.Observer
}
