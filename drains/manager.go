// Package drains ships every app's log stream to the places its owner
// names: syslog receivers over TCP or TLS (RFC 5424, octet-counted) and
// HTTPS endpoints (Heroku's framed batches). Each drain has its own
// bounded buffer, fed without blocking from the log aggregator, and its
// own sender that retries with backoff, so a dead drain never holds up an
// app, another drain or a reader. Secrets in drain URLs are masked in
// everything shown.
package drains

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"paas"
	"paas/logs"
)

// Record is a drain as persisted.
type Record struct {
	App   string
	URL   string // as given, secrets included
	Token string // sent with every message: the syslog HOSTNAME, the Logplex-Drain-Token header
	Added time.Time
}

// Status is a drain as `drains APP` shows it.
type Status struct {
	App         string
	URL         string // masked
	Token       string
	Added       time.Time
	State       string // StateConnecting, StateUp or StateFailing
	Buffered    int    // lines waiting, the batch being sent included
	Dropped     uint64 // lines lost: the buffer was full, or the server refused them
	Sent        uint64 // lines delivered
	LastError   string // masked, one line; "" when none yet
	LastErrorAt time.Time
}

// Store persists drains. Errors it returns for the user's mistakes are
// *paas.Error.
type Store interface {
	AddDrain(r Record) error
	RemoveDrain(app, url string) error
	DeleteDrains(app string) error
	AllDrains() ([]Record, error)
}

// Source is where lines come from: the log aggregator.
type Source interface {
	Subscribe(fn func(l logs.Line)) (cancel func())
}

// Config configures a Manager. Zero values take the defaults.
type Config struct {
	Logs  Source
	Store Store

	BufferLines int // lines each drain holds while its receiver is slow or down (10,000)
	BufferBytes int // bytes each drain holds (16 MiB)
	BatchLines  int // lines per write or POST (500)
	BatchBytes  int // bytes per write or POST, about (1 MiB)
	// BatchWait is how long an HTTPS drain waits for a batch to fill
	// (1 s); syslog drains write what they have at once.
	BatchWait    time.Duration
	MinBackoff   time.Duration // first retry delay (1 s), doubling
	MaxBackoff   time.Duration // longest retry delay (30 s)
	DialTimeout  time.Duration // (10 s)
	WriteTimeout time.Duration // one write or POST (30 s)
	StopGrace    time.Duration // Close's time to deliver what is buffered (2 s)
	MaxPerApp    int           // drains one app may have (10)
	// Dropped, when set, is told of lines a drain lost (its buffer was
	// full, or its server refused them for good); it must not block.
	Dropped func(lines uint64)
	// RootCAs verifies TLS drains; nil means the system's roots.
	RootCAs *x509.CertPool
	Logger  *slog.Logger
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.BufferLines, 10_000)
	def(&c.BufferBytes, 16<<20)
	def(&c.BatchLines, 500)
	def(&c.BatchBytes, 1<<20)
	def(&c.MaxPerApp, 10)
	defDur(&c.BatchWait, time.Second)
	defDur(&c.MinBackoff, time.Second)
	defDur(&c.MaxBackoff, 30*time.Second)
	defDur(&c.DialTimeout, 10*time.Second)
	defDur(&c.WriteTimeout, 30*time.Second)
	defDur(&c.StopGrace, 2*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Manager runs every app's drains. It is safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex // serialises changes
	apps   map[string][]*drain
	closed bool
	unsub  func()

	// live is a copy of apps read by the subscription without locking.
	live atomic.Pointer[map[string][]*drain]
}

// New returns a Manager; Start restores the stored drains and begins
// delivering.
func New(cfg Config) *Manager {
	cfg.defaults()
	m := &Manager{cfg: cfg, log: cfg.Logger, apps: map[string][]*drain{}}
	m.publish()
	return m
}

// Start starts every stored drain and subscribes to the log stream. A
// stored URL that no longer validates is skipped and logged (masked).
func (m *Manager) Start() error {
	recs, err := m.cfg.Store.AllDrains()
	if err != nil {
		return fmt.Errorf("reading drains: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		t, err := Parse(r.URL)
		if err != nil {
			m.log.Error("skipping a stored drain", "app", r.App, "err", err)
			continue
		}
		d := newDrain(r, t, &m.cfg, m.log)
		d.start()
		m.apps[r.App] = append(m.apps[r.App], d)
	}
	m.publish()
	m.unsub = m.cfg.Logs.Subscribe(m.onLine)
	if len(recs) > 0 {
		m.log.Info("log drains started", "count", len(recs))
	}
	return nil
}

// Close ends the subscription, gives each drain StopGrace to deliver what
// it holds, and stops them.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	if m.unsub != nil {
		m.unsub()
	}
	var all []*drain
	for _, ds := range m.apps {
		all = append(all, ds...)
	}
	clear(m.apps)
	m.publish()
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, d := range all {
		wg.Go(func() { d.stop(m.cfg.StopGrace) })
	}
	wg.Wait()
}

// onLine hands l to each of its app's drains. It never blocks.
func (m *Manager) onLine(l logs.Line) {
	for _, d := range (*m.live.Load())[l.App] {
		if n := d.buf.push(l); n > 0 && m.cfg.Dropped != nil {
			m.cfg.Dropped(n)
		}
	}
}

// publish makes the current drains visible to onLine. Callers hold mu.
func (m *Manager) publish() {
	cp := make(map[string][]*drain, len(m.apps))
	for app, ds := range m.apps {
		cp[app] = slices.Clone(ds)
	}
	m.live.Store(&cp)
}

// List returns app's drains in the order they were added.
func (m *Manager) List(app string) []Status {
	m.mu.Lock()
	ds := slices.Clone(m.apps[app])
	m.mu.Unlock()
	out := make([]Status, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.status())
	}
	return out
}

// Add validates rawURL, stores it as a new drain of app and starts it.
// Lines the app writes from now on are delivered.
func (m *Manager) Add(app, rawURL string) (Status, error) {
	t, err := Parse(rawURL)
	if err != nil {
		return Status{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Status{}, fmt.Errorf("adding a drain: the drain manager is closed")
	}
	for _, d := range m.apps[app] {
		if d.rec.URL == rawURL {
			return Status{}, paas.Errorf("%s already has the drain %s", app, t.Masked())
		}
	}
	if len(m.apps[app]) >= m.cfg.MaxPerApp {
		return Status{}, paas.Errorf("%s already has %d drains, the most an app may have", app, m.cfg.MaxPerApp)
	}
	rec := Record{App: app, URL: rawURL, Token: newToken(), Added: time.Now().UTC()}
	if err := m.cfg.Store.AddDrain(rec); err != nil {
		return Status{}, err
	}
	d := newDrain(rec, t, &m.cfg, m.log)
	d.start()
	m.apps[app] = append(m.apps[app], d)
	m.publish()
	m.log.Info("log drain added", "app", app, "drain", t.Masked())
	return d.status(), nil
}

// Remove stops and forgets one of app's drains, named by its URL as
// given, its masked URL as listed, or its 1-based position in the list.
// It returns the masked URL.
func (m *Manager) Remove(app, which string) (string, error) {
	m.mu.Lock()
	ds := m.apps[app]
	i, err := find(app, ds, which)
	if err != nil {
		m.mu.Unlock()
		return "", err
	}
	d := ds[i]
	if err := m.cfg.Store.RemoveDrain(app, d.rec.URL); err != nil {
		m.mu.Unlock()
		return "", err
	}
	m.apps[app] = slices.Delete(slices.Clone(ds), i, i+1)
	if len(m.apps[app]) == 0 {
		delete(m.apps, app)
	}
	m.publish()
	m.mu.Unlock()
	// What is buffered is dropped: the user asked delivery to stop.
	d.stop(0)
	m.log.Info("log drain removed", "app", app, "drain", d.target.Masked())
	return d.target.Masked(), nil
}

// find returns the index in ds of the drain which names.
func find(app string, ds []*drain, which string) (int, error) {
	if n, err := strconv.Atoi(which); err == nil {
		if n < 1 || n > len(ds) {
			return 0, paas.Errorf("%s has no drain number %s (it has %d)", app, which, len(ds))
		}
		return n - 1, nil
	}
	for i, d := range ds {
		if d.rec.URL == which {
			return i, nil
		}
	}
	found := -1
	for i, d := range ds {
		if d.target.Masked() == which {
			if found >= 0 {
				return 0, paas.Errorf("more than one drain of %s is shown as %s: name it by its number in `drains %s`", app, which, app)
			}
			found = i
		}
	}
	if found < 0 {
		return 0, paas.Errorf("%s has no drain %s", app, Mask(which))
	}
	return found, nil
}

// RemoveApp stops and forgets every drain of app, stored ones included:
// called when the app is destroyed.
func (m *Manager) RemoveApp(app string) error {
	m.mu.Lock()
	ds := m.apps[app]
	delete(m.apps, app)
	m.publish()
	err := m.cfg.Store.DeleteDrains(app)
	m.mu.Unlock()
	for _, d := range ds {
		d.stop(0)
	}
	if err != nil {
		return fmt.Errorf("deleting the drains of %s: %w", app, err)
	}
	return nil
}

// newToken returns a drain token: "d." and a random UUID-shaped hex
// string.
func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return "d." + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
