package main

import (
	"paas"
	"paas/store"
)

// auditLog is the gateway's audit log in the store, trimmed to the newest
// keep entries.
type auditLog struct {
	st   *store.Store
	keep int
}

// Record appends e to the log.
func (a auditLog) Record(e paas.AuditEntry) error {
	_, err := a.st.RecordAudit(e, a.keep)
	return err
}

// Entries returns the newest n entries, oldest first.
func (a auditLog) Entries(n int) ([]paas.AuditEntry, error) { return a.st.AuditEntries(n) }
