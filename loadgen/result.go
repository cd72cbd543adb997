package loadgen

import (
	"maps"
	"regexp"
	"sync"
	"time"
)

// Result is the count of every request a run completed.
type Result struct {
	// Requests counts completed requests; Failures those that failed:
	// transport errors (including a connection closed after the request
	// was sent, even when the client retried it) and statuses outside
	// 2xx/3xx.
	Requests, Failures int64
	// ByStatus counts responses by HTTP status.
	ByStatus map[int]int64
	// Errors counts transport errors by their text, trimmed; past
	// maxErrorKinds distinct texts the rest count under otherErrors.
	Errors map[string]int64
	// ByRelease counts successful responses by the last release marker
	// (" vN") in the body, as "vN"; "" counts bodies without one.
	ByRelease map[string]int64
	// FirstSeen is when the first successful response naming each
	// release marker arrived.
	FirstSeen map[string]time.Time
}

const (
	maxErrorKinds = 32
	maxErrorLen   = 120
	otherErrors   = "(other errors)"
)

// marker finds a release marker such as " v12" in a response body.
var marker = regexp.MustCompile(` v[0-9]+`)

// releaseOf returns the last release marker in body without its leading
// space, or "".
func releaseOf(body []byte) string {
	all := marker.FindAll(body, -1)
	if len(all) == 0 {
		return ""
	}
	return string(all[len(all)-1][1:])
}

// tally is a Result shared by the workers of one run.
type tally struct {
	mu  sync.Mutex
	res Result
}

func (t *tally) init() {
	t.res = Result{
		ByStatus:  map[int]int64{},
		Errors:    map[string]int64{},
		ByRelease: map[string]int64{},
		FirstSeen: map[string]time.Time{},
	}
}

// response counts a request answered with status and body at time at.
func (t *tally) response(status int, body []byte, at time.Time) {
	ok := status >= 200 && status < 400
	var rel string
	if ok {
		rel = releaseOf(body)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.res.Requests++
	t.res.ByStatus[status]++
	if !ok {
		t.res.Failures++
		return
	}
	t.res.ByRelease[rel]++
	if _, seen := t.res.FirstSeen[rel]; !seen {
		t.res.FirstSeen[rel] = at
	}
}

// failure counts a request that got no response.
func (t *tally) failure(text string) {
	if len(text) > maxErrorLen {
		text = text[:maxErrorLen]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.res.Requests++
	t.res.Failures++
	if _, known := t.res.Errors[text]; !known && len(t.res.Errors) >= maxErrorKinds {
		text = otherErrors
	}
	t.res.Errors[text]++
}

// snapshot returns a copy that later counts do not change.
func (t *tally) snapshot() Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.res
	r.ByStatus = maps.Clone(r.ByStatus)
	r.Errors = maps.Clone(r.Errors)
	r.ByRelease = maps.Clone(r.ByRelease)
	r.FirstSeen = maps.Clone(r.FirstSeen)
	return r
}
