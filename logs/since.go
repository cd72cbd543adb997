package logs

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ParseSince reads a --since value: a duration back from now ("90s",
// "10m", "2h", "1h30m", "3d") or a time in RFC 3339 ("2026-11-26T10:00:00Z",
// fractions and offsets allowed).
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if strings.ContainsAny(s, "T:") {
		return time.Time{}, errors.New("not an RFC 3339 time such as 2026-11-26T10:00:00Z")
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return time.Time{}, errors.New("not a duration such as 10m or 2h or 3d")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
			return time.Time{}, errors.New("not a duration such as 10m or 2h or 3d")
		}
	}
	if d <= 0 {
		return time.Time{}, errors.New("not a positive duration")
	}
	return now.Add(-d).UTC(), nil
}
