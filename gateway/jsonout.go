package gateway

import (
	"encoding/json"
	"fmt"
	"time"
)

// Listing and info commands take --json: one JSON document on stdout (an
// array for a listing, an object for one thing), field names in
// lower_snake_case, times in RFC 3339 UTC, durations in seconds, a value
// not known or not set as null. docs/json.md documents every field.

// listFlags reads the flags of a listing or info command: --json and
// those of extra (as parseFlags takes them). It returns the flags seen,
// the operands, and whether --json was given.
func listFlags(args []string, extra map[string]bool) (map[string]string, []string, bool, error) {
	spec := map[string]bool{"--json": false}
	for k, v := range extra {
		spec[k] = v
	}
	fl, rest, err := parseFlags(args, spec)
	if err != nil {
		return nil, nil, false, err
	}
	_, asJSON := fl["--json"]
	return fl, rest, asJSON, nil
}

// writeJSON writes v as one indented JSON document.
func writeJSON(r *request, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding JSON output: %w", err)
	}
	_, err = r.stdout.Write(append(data, '\n'))
	return err
}

// emptyListing answers a listing with nothing to list: with --json an
// empty array on stdout, else msg as one line on stderr and nothing on
// stdout.
func emptyListing(r *request, asJSON bool, msg string) error {
	if asJSON {
		_, err := fmt.Fprintln(r.stdout, "[]")
		return err
	}
	_, err := fmt.Fprintln(r.stderr, msg)
	return err
}

// jsonTime is t in RFC 3339 UTC, nil (null) for the zero time.
func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// jsonString is s, nil (null) when empty.
func jsonString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// jsonSeconds is d in seconds.
func jsonSeconds(d time.Duration) float64 {
	return d.Seconds()
}

// nonNil is list, or an empty list for nil, so it encodes as [].
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
