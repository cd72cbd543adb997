package drains

// RenameApp moves app old's drains to the name new, once the store keeps
// them under new: each restarts as a drain of new (syslog messages carry
// the app's name), the lines the old one still held given StopGrace to
// be delivered.
func (m *Manager) RenameApp(old, new string) {
	m.mu.Lock()
	ds := m.apps[old]
	delete(m.apps, old)
	var started []*drain
	for _, d := range ds {
		rec := d.rec
		rec.App = new
		nd := newDrain(rec, d.target, &m.cfg, m.log)
		nd.start()
		started = append(started, nd)
	}
	if len(started) > 0 {
		m.apps[new] = started
	}
	m.publish()
	m.mu.Unlock()
	for _, d := range ds {
		d.stop(m.cfg.StopGrace)
	}
	if len(ds) > 0 {
		m.log.Info("log drains renamed with their app", "app", new, "was", old, "count", len(ds))
	}
}
