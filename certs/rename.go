package certs

import (
	"encoding/json"
	"fmt"

	"paas/store"
)

// RenameOptions are the store.RenameOptions that move the certificates
// users brought for an app to its new name, new.
func RenameOptions(new string) store.RenameOptions {
	return store.RenameOptions{
		BlobPrefix: userPrefix,
		Blob: func(data []byte) ([]byte, error) {
			var rec userRecord
			if err := json.Unmarshal(data, &rec); err != nil {
				return nil, fmt.Errorf("reading a user certificate: %w", err)
			}
			rec.App = new
			return json.Marshal(rec)
		},
	}
}

// Reload reads the users' certificates from the store again: after a
// rename moved them to their app's new name.
func (m *Manager) Reload() error {
	m.users.wmu.Lock()
	defer m.users.wmu.Unlock()
	return m.users.reload()
}
