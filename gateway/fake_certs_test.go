package gateway

import (
	"context"
	"slices"
	"sync"
	"time"

	"paas"
)

// fakeCerts is the fake platform's certificates: per app, what AddCert
// received and what Certs lists.
type fakeCerts struct {
	added   map[string][][2][]byte // app -> (cert, key) pairs
	listed  map[string][]paas.Cert
	removed []string // "app host"
}

// fakeCertStates holds each fake platform's certificates (the fake's
// struct is shared with other files).
var fakeCertStates sync.Map // *fakePlatform -> *fakeCerts

func (f *fakePlatform) certState() *fakeCerts {
	v, _ := fakeCertStates.LoadOrStore(f, &fakeCerts{added: map[string][][2][]byte{}, listed: map[string][]paas.Cert{}})
	return v.(*fakeCerts)
}

func (f *fakePlatform) Certs(ctx context.Context, app string) ([]paas.Cert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.apps[app] == nil {
		return nil, notFound(app)
	}
	return slices.Clone(f.certState().listed[app]), nil
}

func (f *fakePlatform) AddCert(ctx context.Context, app string, certPEM, keyPEM []byte) (paas.Cert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.apps[app] == nil {
		return paas.Cert{}, notFound(app)
	}
	cs := f.certState()
	cs.added[app] = append(cs.added[app], [2][]byte{certPEM, keyPEM})
	c := paas.Cert{Hosts: []string{"www.example.com"}, Issuer: "Test CA", NotAfter: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC), Source: "user"}
	cs.listed[app] = append(cs.listed[app], c)
	return c, nil
}

func (f *fakePlatform) RemoveCert(ctx context.Context, app, host string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.apps[app] == nil {
		return notFound(app)
	}
	cs := f.certState()
	if len(cs.listed[app]) == 0 {
		return paas.Errorf("%s has no certificate of its own for %s", app, host)
	}
	cs.listed[app] = nil
	cs.removed = append(cs.removed, app+" "+host)
	return nil
}
