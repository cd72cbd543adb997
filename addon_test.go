package paas

import (
	"strings"
	"testing"
	"time"
)

func TestParseBackupID(t *testing.T) {
	for id, want := range map[string]struct {
		t time.Time
		n int
	}{
		"20261206T051200Z":    {time.Date(2026, 12, 6, 5, 12, 0, 0, time.UTC), 1},
		"20261206T051200Z-2":  {time.Date(2026, 12, 6, 5, 12, 0, 0, time.UTC), 2},
		"20000101T000000Z-10": {time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 10},
	} {
		got, n, err := ParseBackupID(id)
		if err != nil || !got.Equal(want.t) || n != want.n {
			t.Errorf("ParseBackupID(%q) = %v %d %v", id, got, n, err)
		}
	}
	for _, bad := range []string{"", "latest", "../20261206T051200Z", "20261206T051200Z/..", "20261206T051200Z-0", "20261206T051200Z-01",
		"20261206T051200Z-", "20261206T051200", "20261306T051200Z", "20261206T251200Z", "20261206t051200z", "20261206T051200Z\n", "20261206T051200Z-99999"} {
		_, _, err := ParseBackupID(bad)
		msg, ok := UserMessage(err)
		if !ok || !strings.HasPrefix(msg, "invalid backup id ") || strings.Contains(msg, "\n") {
			t.Errorf("ParseBackupID(%q): %v", bad, err)
		}
	}
}

func FuzzParseBackupID(f *testing.F) {
	for _, s := range []string{"20261206T051200Z", "20261206T051200Z-2", "../x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, n, err := ParseBackupID(s)
		if err != nil {
			return
		}
		id := tm.Format(BackupIDLayout)
		if n > 1 {
			id += "-" + strings.TrimPrefix(s, id+"-")
		}
		if id != s || strings.ContainsAny(s, "/.\\\x00") || n < 1 {
			t.Fatalf("ParseBackupID(%q) = %v %d", s, tm, n)
		}
	})
}
